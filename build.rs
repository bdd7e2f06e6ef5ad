// sqlx::migrate! embeds the migration files at compile time; rebuild when they change or a new
// one appears. Core's are in migrations/, each feature's in src/features/<name>/migrations/
// (watching the whole src/features folder costs nothing: all of it is compiled into the crate).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=src/features");
}
