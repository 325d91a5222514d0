//! The stored forms against bodies patchctl wrote before this crate existed
//! (`test_data/`): each parses, writes back to the same bytes, and a plan's id is reproduced.

mod journal;
mod plan;

fn test_data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
