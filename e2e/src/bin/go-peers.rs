//! Builds every Go program the e2e tests run (each kept in `target/go-peers/` and reused
//! while its inputs are unchanged), in the order the test run needs them. `e2e/run-all.sh`
//! starts it beside the first tests; a test that needs a program still being built waits
//! for that build. Once all are built, Go's build cache is removed: it is the largest thing a
//! test run leaves on disk, and nothing needs it while the kept binaries are current.

use std::time::Instant;

fn main() {
    let timed = |what: &str, build: &dyn Fn()| {
        let start = Instant::now();
        build();
        println!("{what}: {:.0} s", start.elapsed().as_secs_f64());
    };
    timed("spdy and gRPC clients", &|| {
        e2e::spdy_go::client_binary();
        e2e::grpc_go::client_binary();
    });
    timed("critest and its stand-ins", &|| {
        e2e::critest_images::critest_binary();
        e2e::critest_images::build_stand_ins();
    });
    timed("containerd 2.x and runc", &|| {
        e2e::backend::built2_bin_dir();
    });
    timed("etcd", &|| {
        e2e::kube::etcd_binary();
    });
    for program in e2e::kube::PROGRAMS {
        timed(program, &|| {
            e2e::kube::binary(program);
        });
    }
    timed("the node e2e suite and ginkgo", &|| {
        e2e::node_conformance::suite_binary();
        e2e::node_conformance::ginkgo_binary();
    });
    timed("agnhost and the sample device plugin", &|| {
        e2e::node_e2e_images::agnhost_binary();
        e2e::node_e2e_images::sample_device_plugin_binary();
    });
    e2e::go_build::remove_build_cache();
}
