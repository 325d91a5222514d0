//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds them, and
//! cargo would not otherwise know that the files it read matter.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
