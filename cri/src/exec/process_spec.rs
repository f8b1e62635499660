//! The OCI process of an exec: the container's own (user, groups, env, working dir,
//! capabilities, AppArmor, no_new_privileges, rlimits), running `cmd`.

use oci_spec::runtime::{Process, Spec};

use crate::spec::SpecError;

pub fn exec_process(container: &Spec, cmd: &[String], tty: bool) -> Result<Process, SpecError> {
    if cmd.is_empty() || cmd[0].is_empty() {
        return Err(SpecError::invalid("cmd", "empty"));
    }
    let mut process = container
        .process()
        .clone()
        .ok_or_else(|| SpecError::invalid("container", "its spec has no process"))?;
    process.set_args(Some(cmd.to_vec()));
    process.set_terminal(Some(tty));
    // The container's console size has nothing to do with this exec's.
    process.set_console_size(None);
    Ok(process)
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::{ProcessBuilder, UserBuilder};

    use super::*;

    #[test]
    fn the_containers_process_runs_the_command() {
        let mut spec = Spec::default();
        let user = UserBuilder::default().uid(1000u32).gid(1000u32).build().unwrap();
        let process = ProcessBuilder::default()
            .args(vec!["/app".to_string()])
            .env(vec!["A=1".to_string()])
            .cwd("/srv")
            .user(user)
            .build()
            .unwrap();
        spec.set_process(Some(process));
        let exec = exec_process(&spec, &["ls".into(), "-l".into()], true).unwrap();
        assert_eq!(exec.args().clone().unwrap(), ["ls", "-l"]);
        assert_eq!(
            (exec.user().uid(), exec.cwd().to_str(), exec.terminal()),
            (1000, Some("/srv"), Some(true))
        );
        assert_eq!(exec.env().clone().unwrap(), ["A=1"]);
        assert!(exec_process(&spec, &[], false).unwrap_err().to_string().contains("cmd"));
    }
}
