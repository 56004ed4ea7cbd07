//! Compiles the protos into OUT_DIR, with the descriptor set reflection serves.

use std::{env, path::PathBuf};

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
    Ok(())
}
