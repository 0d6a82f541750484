//! Peers in containers (testcontainers over podman's Docker-compatible socket),
//! from the images in `interop/images/` that `cargo xtask interop` and CI build.
//! Without an engine (no `DOCKER_HOST`), the container tests say so and pass: the
//! process-based tests still run, and CI, which sets the engine up, runs both.

use std::time::Duration;

use testcontainers::core::{ExecCommand, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

/// Whether a container engine is configured; prints why the test is skipped if not.
pub fn engine() -> bool {
    let configured = std::env::var_os("DOCKER_HOST").is_some();
    if !configured {
        println!(
            "skipped: no container engine (DOCKER_HOST is not set; `cargo xtask interop` sets one up)"
        );
    }
    configured
}

/// Starts `localhost/gannet-test-NAME` (always a `localhost/` name: a missing
/// image is then never pulled from elsewhere) on the host's network, so that it
/// reaches localserve on 127.0.0.1, running `cmd` (the image's own when empty),
/// and waits until its daemon logs `ready` on stdout or stderr.
pub fn start(name: &str, cmd: &[String], ready: WaitFor) -> Container<GenericImage> {
    let image = GenericImage::new(
        format!("localhost/gannet-test-{name}"),
        "latest".to_string(),
    )
    .with_wait_for(ready);
    // podman: `with_network("host")` would try to create a network named "host";
    // the host config says it instead.
    let mut request = image
        .with_host_config_modifier(|config| config.network_mode = Some("host".to_string()))
        .with_startup_timeout(Duration::from_secs(60));
    if !cmd.is_empty() {
        request = request.with_cmd(cmd.iter().cloned());
    }
    request.start().unwrap_or_else(|e| {
        panic!(
            "cannot start the {name} container (run `cargo xtask interop` to build its image): {e}"
        )
    })
}

/// Runs `sh -c script` in the container; its stdout, after checking it exited 0.
pub fn sh(container: &Container<GenericImage>, script: &str) -> String {
    let mut exec = container
        .exec(ExecCommand::new(["sh", "-c", script]))
        .unwrap_or_else(|e| panic!("exec {script:?}: {e}"));
    let stdout = String::from_utf8_lossy(&exec.stdout_to_vec().expect("exec stdout")).into_owned();
    let stderr = String::from_utf8_lossy(&exec.stderr_to_vec().expect("exec stderr")).into_owned();
    let code = exec.exit_code().expect("exec exit code");
    assert_eq!(
        code,
        Some(0),
        "{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    stdout
}
