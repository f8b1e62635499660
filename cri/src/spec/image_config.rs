//! The container's process from its image config merged with the `ContainerConfig`: the CRI's
//! command/args rules, env by key, working dir, terminal and stdin.

use crate::api::v1::ContainerConfig;
use oci_spec::runtime::Spec;

use super::SpecError;

/// What the image config says about the process (its `config` object).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageProcess {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: String,
    pub user: String,
    pub stop_signal: String,
}

impl ImageProcess {
    /// From an OCI/Docker image config blob; a missing or odd field is just absent.
    pub fn from_config(blob: &[u8]) -> ImageProcess {
        let v: serde_json::Value = serde_json::from_slice(blob).unwrap_or_default();
        let c = &v["config"];
        let strings = |k: &str| -> Vec<String> {
            c[k].as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default()
        };
        let string = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        ImageProcess {
            entrypoint: strings("Entrypoint"),
            cmd: strings("Cmd"),
            env: strings("Env"),
            working_dir: string("WorkingDir"),
            user: string("User"),
            stop_signal: string("StopSignal"),
        }
    }
}

/// The CRI's rule: `command` replaces the entrypoint (and drops the image's cmd), `args`
/// replaces the cmd.
pub fn process_args(
    image: &ImageProcess,
    config: &ContainerConfig,
) -> Result<Vec<String>, SpecError> {
    let mut args =
        if config.command.is_empty() { image.entrypoint.clone() } else { config.command.clone() };
    if !config.args.is_empty() {
        args.extend(config.args.iter().cloned());
    } else if config.command.is_empty() {
        args.extend(image.cmd.iter().cloned());
    }
    if args.is_empty() {
        return Err(SpecError::invalid(
            "config.command",
            "neither the config nor the image names a command",
        ));
    }
    Ok(args)
}

/// The image's env with the config's entries replacing those of the same name.
pub fn merged_env(image: &[String], config: &ContainerConfig) -> Vec<String> {
    let mut env: Vec<String> = image.to_vec();
    for kv in &config.envs {
        let entry = format!("{}={}", kv.key, String::from_utf8_lossy(&kv.value));
        match env.iter_mut().find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == kv.key) {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
    }
    env
}

pub fn set_process(
    spec: &mut Spec,
    image: &ImageProcess,
    config: &ContainerConfig,
) -> Result<(), SpecError> {
    let args = process_args(image, config)?;
    let mut env = merged_env(&image.env, config);
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    }
    if config.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let cwd = [&config.working_dir, &image.working_dir]
        .into_iter()
        .find(|d| !d.is_empty())
        .cloned()
        .unwrap_or_else(|| "/".into());
    if !cwd.starts_with('/') {
        return Err(SpecError::invalid("config.working_dir", format!("{cwd:?} is not absolute")));
    }
    let process = super::process_of(spec);
    process.set_args(Some(args));
    process.set_env(Some(env));
    process.set_cwd(cwd.into());
    process.set_terminal(Some(config.tty));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v1::KeyValue;

    fn image() -> ImageProcess {
        ImageProcess {
            entrypoint: vec!["/entry".into()],
            cmd: vec!["--serve".into()],
            env: vec!["PATH=/bin".into(), "A=image".into()],
            ..Default::default()
        }
    }

    fn config(command: &[&str], args: &[&str]) -> ContainerConfig {
        ContainerConfig {
            command: command.iter().map(|s| s.to_string()).collect(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn command_and_args_follow_the_cri_rules() {
        assert_eq!(process_args(&image(), &config(&[], &[])).unwrap(), ["/entry", "--serve"]);
        assert_eq!(
            process_args(&image(), &config(&[], &["--debug"])).unwrap(),
            ["/entry", "--debug"]
        );
        assert_eq!(process_args(&image(), &config(&["/bin/sh"], &[])).unwrap(), ["/bin/sh"]);
        assert_eq!(
            process_args(&image(), &config(&["/bin/sh"], &["-c", "x"])).unwrap(),
            ["/bin/sh", "-c", "x"]
        );
        let err = process_args(&ImageProcess::default(), &config(&[], &[])).unwrap_err();
        assert!(err.to_string().contains("config.command"));
    }

    #[test]
    fn config_env_replaces_the_images_by_name() {
        let mut c = config(&[], &[]);
        c.envs = vec![
            KeyValue { key: "A".into(), value: "config".into() },
            KeyValue { key: "B".into(), value: "x=y".into() },
        ];
        assert_eq!(merged_env(&image().env, &c), ["PATH=/bin", "A=config", "B=x=y"]);
    }

    #[test]
    fn an_image_config_blob_is_read() {
        let blob = br#"{"config":{"Entrypoint":["/e"],"Cmd":null,"Env":["X=1"],"WorkingDir":"/w","User":"1000:1000","StopSignal":"SIGQUIT"}}"#;
        let p = ImageProcess::from_config(blob);
        assert_eq!(
            (p.entrypoint, p.cmd, p.working_dir, p.user, p.stop_signal),
            (vec!["/e".to_string()], vec![], "/w".into(), "1000:1000".into(), "SIGQUIT".into())
        );
    }
}
