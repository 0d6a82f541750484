//! Peers in containers for the interop suite: podman and its Docker-compatible
//! socket, a Debian base image made with debootstrap (no registry is needed), and
//! the images in `interop/images/`. Every step keeps what exists, so running it
//! again takes seconds; `podman build` reuses its layers unless a Containerfile
//! changed. The facts behind each step are in the project's CONTAINERS notes:
//! the ulimits and runc are what podman needs on these machines.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

const SOCKET: &str = "/run/podman/podman.sock";
const BASE_IMAGE: &str = "localhost/debian-base:bookworm";
/// The images of `interop/images/NAME`, tagged `localhost/gannet-test-NAME:latest`.
const IMAGES: [&str; 3] = ["postfix", "dovecot", "exim"];
const PACKAGES: [&str; 9] = [
    "podman",
    "runc",
    "debootstrap",
    "uidmap",
    "slirp4netns",
    "fuse-overlayfs",
    "netavark",
    "aardvark-dns",
    "iptables",
];
const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";
/// podman's default ulimits are above what these machines allow, and crun refuses
/// their hybrid cgroup layout; runc does not.
const CONF: &str = "[containers]\n\
    default_ulimits = [\"nofile=16384:16384\", \"nproc=16384:16384\"]\n\
    [engine]\n\
    runtime = \"runc\"\n\
    cgroup_manager = \"cgroupfs\"\n\
    events_logger = \"file\"\n\
    exit_command_delay = 5\n";

/// A running engine; its API socket is `DOCKER_HOST` for the tests. The service
/// this started stops when it is dropped.
pub struct Engine {
    service: Option<Child>,
}

impl Engine {
    pub fn docker_host(&self) -> String {
        format!("unix://{SOCKET}")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(child) = &mut self.service {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Installs and configures podman where missing, builds the images, and starts
/// the API service (or uses one already answering on the socket).
pub fn setup(root: &Path) -> Result<Engine> {
    let started = Instant::now();
    install()?;
    if !Path::new(CONTAINERS_CONF).exists() {
        std::fs::write(CONTAINERS_CONF, CONF)
            .with_context(|| format!("writing {CONTAINERS_CONF}"))?;
    }
    base_image()?;
    for name in IMAGES {
        let dir = root.join("interop/images").join(name);
        let tag = format!("localhost/gannet-test-{name}:latest");
        quiet(
            Command::new("podman")
                .args(["build", "-q", "-t", &tag])
                .arg(&dir),
        )
        .with_context(|| format!("building {tag} from {}", dir.display()))?;
    }
    let engine = service()?;
    println!(
        "containers: podman ready with {} images in {:.1} s",
        IMAGES.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(engine)
}

fn install() -> Result<()> {
    if quiet(Command::new("podman").arg("--version")).is_ok() {
        return Ok(());
    }
    println!("containers: installing {}", PACKAGES.join(" "));
    quiet(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("installing podman with apt-get (needs root)")
}

/// The Debian base the images build on, made here: no registry is reachable.
/// It gets the host's apt sources, so containers use the same mirror.
fn base_image() -> Result<()> {
    if quiet(Command::new("podman").args(["image", "exists", BASE_IMAGE])).is_ok() {
        return Ok(());
    }
    let sources = Path::new("/etc/apt/sources.list.d/debian.sources");
    let text = std::fs::read_to_string(sources)
        .with_context(|| format!("reading the apt mirror from {}", sources.display()))?;
    let mirror = text
        .lines()
        .find_map(|l| l.strip_prefix("URIs:"))
        .map(str::trim)
        .context("no URIs: line in debian.sources")?;
    println!("containers: making {BASE_IMAGE} with debootstrap from {mirror}");
    let rootfs = tempfile_dir()?;
    let result = (|| {
        quiet(
            Command::new("debootstrap")
                .args(["--variant=minbase", "bookworm"])
                .arg(&rootfs)
                .arg(mirror),
        )?;
        std::fs::copy(
            sources,
            rootfs.join("etc/apt/sources.list.d/debian.sources"),
        )?;
        let _ = std::fs::remove_file(rootfs.join("etc/apt/sources.list"));
        for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
            let _ = std::fs::remove_dir_all(rootfs.join(dir));
            std::fs::create_dir_all(rootfs.join(dir))?;
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()?;
        let import = Command::new("podman")
            .args(["import", "--change", "CMD [\"/bin/bash\"]", "-", BASE_IMAGE])
            .stdin(tar.stdout.take().expect("piped"))
            .stdout(Stdio::null())
            .status()?;
        ensure!(
            tar.wait()?.success() && import.success(),
            "tar | podman import failed"
        );
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&rootfs);
    result
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("gannet-rootfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The API service on [`SOCKET`], started unless one answers already.
fn service() -> Result<Engine> {
    if ping() {
        return Ok(Engine { service: None });
    }
    std::fs::create_dir_all("/run/podman")?;
    let child = Command::new("podman")
        .args(["system", "service", "--time=0", &format!("unix://{SOCKET}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting `podman system service`")?;
    let engine = Engine {
        service: Some(child),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ping() {
            return Ok(engine);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("podman's API did not answer on {SOCKET} within 10 s")
}

/// Whether the Docker-compatible API answers `/_ping` with OK.
fn ping() -> bool {
    let Ok(mut stream) = UnixStream::connect(SOCKET) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut reply = String::new();
    stream.write_all(b"GET /_ping HTTP/1.0\r\n\r\n").is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.starts_with("HTTP/1.")
        && reply.ends_with("OK")
}

/// Runs `cmd`; its output only in the error when it fails.
fn quiet(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
