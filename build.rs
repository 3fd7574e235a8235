//! Records which cargo profile built the extension, so benchmarks can refuse to trust a debug build.

fn main() {
    let out_dir = std::env::var("OUT_DIR").unwrap_or_default();
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<crate>-<hash>/out
    let profile = std::path::Path::new(&out_dir)
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.file_name())
        .and_then(|name| name.to_str())
        .unwrap_or("unknown")
        .to_owned();
    println!("cargo:rustc-env=SAGEMAKER_RUNTIME_RS_PROFILE={profile}");
    println!("cargo:rerun-if-changed=build.rs");
}
