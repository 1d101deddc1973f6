//! The built front-end files under `/pkg` and their names.
//!
//! cargo-leptos content-hashes them (`hash-files` in the workspace metadata): `accounts.js`
//! becomes `accounts.<hash>.js`, and so on for the WASM, its chunks and the stylesheet. It writes
//! the hashes to `hash.txt` beside the server binary, where Leptos reads them to name the files in
//! each page. A file whose name carries its content's hash can be cached for a year: a new build
//! has new names. The pages the server writes by hand (the 500 and 503 pages, the dev mailbox)
//! take their stylesheet's name from here, and every page its hydration script's (`PageScripts`).

use std::{path::PathBuf, sync::OnceLock};

/// The `name` of the site in the workspace metadata: the files' names start with it.
pub const OUTPUT_NAME: &str = "accounts";

/// The file Leptos's `LeptosOptions::hash_file` names (its default), beside the binary.
const HASH_FILE: &str = "hash.txt";

/// What the build in use produced, found once at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assets {
    /// Whether the names under `/pkg` carry content hashes.
    pub hashed: bool,
    /// The stylesheet's path, `/pkg/accounts.<hash>.css` or `/pkg/accounts.css`.
    pub stylesheet: String,
    /// The browser entry point's JS, `/pkg/accounts.<hash>.js` or `/pkg/accounts.js`.
    pub script: String,
    /// The main WASM module, `/pkg/accounts.<hash>.wasm` or, unhashed, the name Leptos's own
    /// hydration script would use (`accounts.wasm` when cargo-leptos built the server).
    pub wasm: String,
    /// The split build's manifest (which WASM files each lazy module needs), its file name under
    /// the site's `pkg` directory.
    pub split_manifest: String,
}

static ASSETS: OnceLock<Assets> = OnceLock::new();

impl Assets {
    /// The build's names: hashed when `hash.txt` is beside the running binary (cargo-leptos
    /// writes it with every build), plain otherwise (a binary `cargo test` built).
    pub fn get() -> &'static Self {
        ASSETS.get_or_init(|| {
            let hashes = hash_file().and_then(|path| std::fs::read_to_string(path).ok());
            Self::from_hash_file(hashes.as_deref())
        })
    }

    /// Reads `hash.txt` (`css: <hash>` and the like, one per line), or its absence.
    pub fn from_hash_file(contents: Option<&str>) -> Self {
        let hash = |kind: &str| {
            contents.and_then(|text| {
                text.lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| name.trim() == kind)
                    .map(|(_, hash)| hash.trim().to_string())
                    .filter(|hash| !hash.is_empty())
            })
        };
        let named = |kind: &str, plain: &str| match hash(kind) {
            Some(hash) => format!("/pkg/{OUTPUT_NAME}.{hash}.{kind}"),
            None => format!("/pkg/{plain}.{kind}"),
        };
        let plain_wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
            OUTPUT_NAME.to_string()
        } else {
            format!("{OUTPUT_NAME}_bg")
        };
        Self {
            hashed: contents.is_some(),
            stylesheet: named("css", OUTPUT_NAME),
            script: named("js", OUTPUT_NAME),
            wasm: named("wasm", &plain_wasm),
            split_manifest: match hash("manifest") {
                Some(hash) => format!("__wasm_split_manifest.{hash}.json"),
                None => "__wasm_split_manifest.json".to_string(),
            },
        }
    }
}

/// Where cargo-leptos writes the hashes: beside the server binary.
fn hash_file() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(HASH_FILE);
    path.is_file().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hashes() {
        let assets = Assets::from_hash_file(Some(
            "js: Ab1\nwasm: Cd2\ncss: Ef3-_x\nmanifest: Gh4\nsplit: Ij5\n",
        ));
        assert!(assets.hashed);
        assert_eq!(assets.stylesheet, "/pkg/accounts.Ef3-_x.css");
        assert_eq!(assets.script, "/pkg/accounts.Ab1.js");
        assert_eq!(assets.wasm, "/pkg/accounts.Cd2.wasm");
        assert_eq!(assets.split_manifest, "__wasm_split_manifest.Gh4.json");
    }

    #[test]
    fn without_the_file_the_names_are_plain() {
        let assets = Assets::from_hash_file(None);
        assert!(!assets.hashed);
        assert_eq!(assets.stylesheet, "/pkg/accounts.css");
        assert_eq!(assets.script, "/pkg/accounts.js");
        assert_eq!(assets.split_manifest, "__wasm_split_manifest.json");
        assert!(
            ["/pkg/accounts.wasm", "/pkg/accounts_bg.wasm"].contains(&assets.wasm.as_str()),
            "{}",
            assets.wasm
        );
    }
}
