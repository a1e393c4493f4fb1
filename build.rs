fn main() {
    napi_build::setup();
    // Cross-linked macOS dylibs otherwise carry the build directory's absolute path as their
    // install name; Node loads the addon by its file path, so a relative name is all it needs.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/backend-node-rs.node");
    }
}
