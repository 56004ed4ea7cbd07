//! Compiles the protos into OUT_DIR, with the descriptor set reflection serves,
//! and names the source revision built (`access_build_info`).

use std::{env, path::PathBuf, process::Command};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    // A fresh clone must build with nothing installed: use the vendored protoc
    // unless PROTOC already points at one (e.g. Debian's protobuf-compiler).
    if env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // The descriptor set feeds server reflection, which grpcurl relies on.
        .file_descriptor_set_path(out_dir.join("access_v1_descriptor.bin"))
        .compile_with_config(config, &["proto/access/v1/access.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    revision();
    Ok(())
}

/// ACCESS_BUILD_REVISION for the crate: the variable of that name when the
/// build sets it (an image built without `.git`), else git's HEAD, else
/// `unknown`. Never fails the build.
fn revision() {
    println!("cargo:rerun-if-env-changed=ACCESS_BUILD_REVISION");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let revision = env::var("ACCESS_BUILD_REVISION")
        .ok()
        .filter(|given| !given.is_empty())
        .or_else(|| {
            // Rebuilt when HEAD moves (a commit, a checkout), not on every build.
            for file in ["HEAD", "index"] {
                if let Some(path) = git(&["rev-parse", "--git-path", file]) {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            git(&["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=ACCESS_BUILD_REVISION={revision}");
}
