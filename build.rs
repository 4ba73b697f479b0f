//! Links the addon the way Node expects (napi-rs set-up).
fn main() {
    napi_build::setup();
}
