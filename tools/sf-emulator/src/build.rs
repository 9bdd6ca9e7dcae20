//! Build script: embeds the repo's Salesforce project (`salesforce/force-app/main/default`) in
//! the emulator, so its default schema comes with the binary instead of from a path baked in at
//! build time (a binary built in one clone and run from another read the wrong folder: issue 12).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let project = std::fs::canonicalize(manifest.join("../../salesforce")).map_err(|e| {
        format!(
            "the repo's salesforce/ project next to {}: {e}",
            manifest.display()
        )
    })?;
    let tree = project.join("force-app/main/default");
    // Any rerun-if-changed replaces Cargo's default (any file of the package), so this script
    // is named too. A directory is rescanned whole: added, removed or edited files all rebuild.
    println!("cargo:rerun-if-changed=src/build.rs");
    println!("cargo:rerun-if-changed={}", tree.display());

    let mut files = Vec::new();
    collect(&tree, &mut files)?;
    files.sort();
    if !files
        .iter()
        .any(|f| f.to_string_lossy().ends_with(".field-meta.xml"))
    {
        return Err(format!("no custom fields under {}", tree.display()).into());
    }
    let mut out = String::from(
        "/// The repo's `salesforce/` project as (path inside the project, text), sorted by path.\n\
         pub(super) static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file
            .strip_prefix(&project)?
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{}: not a UTF-8 path", file.display()))?
            .join("/");
        let absolute = file
            .to_str()
            .ok_or_else(|| format!("{}: not a UTF-8 path", file.display()))?;
        // include_str! embeds the text; the path is a compile-time input only.
        writeln!(out, "    ({relative:?}, include_str!({absolute:?})),")?;
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("builtin_metadata.rs"), out)?;
    Ok(())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
