//! Generates the code of the translations in `locales/`: one folder per language, named by its
//! code (`fr`), one JSON file per namespace (`common.json`), each an object of keys to texts.
//! A new language is a new folder and nothing else.
//!
//! - `languages.rs`: the `Locale` enum (one variant per folder, the default first) and each
//!   language's name for itself (`common.json`'s `language_name`, for the switcher).
//! - `keys.rs`: one constant per key (`k::common::nav_products`), so a key the code names but
//!   the files lack is a compile error; a key whose texts differ by count has variants
//!   `_zero`, `_one`, `_two`, `_few`, `_many`, `_other` (CLDR's categories; `_other` required)
//!   and is a `Plural`.
//! - `texts.rs` (the server's): every language's texts in the keys' order, and each one's JSON
//!   array for the browser (the server-only namespaces' texts left empty), which the server
//!   hands out as a file of its own (`/texts/<code>.<hash>.json`).
//!
//! Every language must have exactly the default language's keys, with the same `{{ name }}`
//! placeholders in each text: anything else fails the build, naming the file and the key.

use std::{
    collections::{BTreeMap, BTreeSet},
    error::Error,
    fmt::Write as _,
    fs,
    hash::{DefaultHasher, Hash, Hasher},
    path::{Path, PathBuf},
};

/// The language a person gets when nothing says otherwise, and the reference for the others.
const DEFAULT: &str = "en";
/// Namespaces only the server reads (emails): the browser's file leaves their texts empty.
const SERVER_ONLY: [&str; 1] = ["mail"];
const CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

type Texts = BTreeMap<(String, String), String>; // (namespace, key) → text

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=locales");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no manifest dir")?)
        .join("locales");

    let mut codes: Vec<String> = fs::read_dir(&root)?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    codes.sort_by_key(|code| (code != DEFAULT, code.clone()));
    if codes.first().map(String::as_str) != Some(DEFAULT) {
        return Err(format!("locales/{DEFAULT} is missing").into());
    }
    let mut languages = Vec::new();
    for code in &codes {
        if !code.chars().all(|c| c.is_ascii_lowercase()) || !(2..=3).contains(&code.len()) {
            return Err(
                format!("locales/{code}: a language folder is a 2- or 3-letter code").into(),
            );
        }
        languages.push((code.clone(), read_language(&root.join(code))?));
    }

    // The slots: every key of the default language; a plural key takes one slot per category.
    let reference = &languages[0].1;
    let mut slots: Vec<(String, String, Option<&str>)> = Vec::new(); // namespace, key, category
    let mut plurals = BTreeSet::new();
    for (namespace, key) in reference.keys() {
        match split_plural(key) {
            Some((base, _)) => {
                if plurals.insert((namespace.clone(), base.to_string())) {
                    for category in CATEGORIES {
                        slots.push((namespace.clone(), base.to_string(), Some(category)));
                    }
                }
            }
            None => slots.push((namespace.clone(), key.clone(), None)),
        }
    }
    for (code, texts) in &languages {
        check_language(code, texts, reference, &plurals)?;
    }

    // languages.rs
    let mut out_languages = String::new();
    writeln!(
        out_languages,
        "/// The product's languages: one per folder of `locales/`.\n\
         #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\n\
         pub enum Locale {{"
    )?;
    for (i, (code, _)) in languages.iter().enumerate() {
        if i == 0 {
            writeln!(out_languages, "    #[default]")?;
        }
        writeln!(out_languages, "    {},", variant(code))?;
    }
    writeln!(out_languages, "}}\n\nimpl Locale {{")?;
    writeln!(out_languages, "    pub const ALL: &'static [Self] = &[")?;
    for (code, _) in &languages {
        writeln!(out_languages, "        Self::{},", variant(code))?;
    }
    writeln!(
        out_languages,
        "    ];\n\n    /// The language's code: `\"fr\"`.\n    pub const fn code(self) -> &'static str {{\n        match self {{"
    )?;
    for (code, _) in &languages {
        writeln!(
            out_languages,
            "            Self::{} => {code:?},",
            variant(code)
        )?;
    }
    writeln!(
        out_languages,
        "        }}\n    }}\n\n    /// The language's name in itself: `\"Français\"`.\n    pub const fn name(self) -> &'static str {{\n        match self {{"
    )?;
    for (code, texts) in &languages {
        let name = texts
            .get(&("common".to_string(), "language_name".to_string()))
            .ok_or_else(|| format!("locales/{code}/common.json has no language_name"))?;
        writeln!(
            out_languages,
            "            Self::{} => {name:?},",
            variant(code)
        )?;
    }
    writeln!(
        out_languages,
        "        }}\n    }}\n\n    /// The language a code names exactly (`\"fr\"`).\n    pub fn from_code(code: &str) -> Option<Self> {{\n        match code {{"
    )?;
    for (code, _) in &languages {
        writeln!(
            out_languages,
            "            {code:?} => Some(Self::{}),",
            variant(code)
        )?;
    }
    writeln!(
        out_languages,
        "            _ => None,\n        }}\n    }}\n}}"
    )?;
    fs::write(out.join("languages.rs"), out_languages)?;

    // keys.rs
    let mut out_keys = String::new();
    writeln!(out_keys, "pub const SLOTS: usize = {};", slots.len())?;
    let mut namespaces: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (index, (namespace, key, category)) in slots.iter().enumerate() {
        let line = match category {
            None => format!(
                "    pub const {key}: crate::language::Key = crate::language::Key({index});"
            ),
            Some("zero") => format!(
                "    pub const {key}: crate::language::Plural = crate::language::Plural({index});"
            ),
            Some(_) => continue,
        };
        namespaces.entry(namespace).or_default().push(line);
    }
    for (namespace, lines) in namespaces {
        writeln!(
            out_keys,
            "#[allow(non_upper_case_globals, dead_code)]\npub mod {namespace} {{"
        )?;
        for line in lines {
            writeln!(out_keys, "{line}")?;
        }
        writeln!(out_keys, "}}")?;
    }
    fs::write(out.join("keys.rs"), out_keys)?;

    // texts.rs: per language, the texts in slot order ("" for a category the language lacks).
    let mut out_texts = String::from("pub static TEXTS: &[&[&str]] = &[\n");
    let mut out_json = String::from("pub static JSON: &[(&str, &str)] = &[\n");
    for (_, texts) in &languages {
        let values: Vec<&str> = slots
            .iter()
            .map(|(namespace, key, category)| {
                let key = match category {
                    Some(category) => format!("{key}_{category}"),
                    None => key.clone(),
                };
                texts
                    .get(&(namespace.clone(), key))
                    .map_or("", String::as_str)
            })
            .collect();
        writeln!(out_texts, "    &{values:?},")?;
        let browser: Vec<&str> = slots
            .iter()
            .zip(&values)
            .map(|((namespace, _, _), text)| {
                if SERVER_ONLY.contains(&namespace.as_str()) {
                    ""
                } else {
                    *text
                }
            })
            .collect();
        let json = serde_json::to_string(&browser)?;
        let mut hasher = DefaultHasher::new();
        json.hash(&mut hasher);
        writeln!(
            out_json,
            "    ({:?}, {json:?}),",
            format!("{:016x}", hasher.finish())
        )?;
    }
    out_texts.push_str("];\n");
    out_json.push_str("];\n");
    // Plain keys by name, sorted: the email templates name their texts at run time.
    let mut names: Vec<(String, usize)> = slots
        .iter()
        .enumerate()
        .filter(|(_, (_, _, category))| category.is_none())
        .map(|(index, (namespace, key, _))| (format!("{namespace}.{key}"), index))
        .collect();
    names.sort();
    let mut out_names = String::from("pub static NAMES: &[(&str, usize)] = &[\n");
    for (name, index) in names {
        writeln!(out_names, "    ({name:?}, {index}),")?;
    }
    out_names.push_str("];\n");
    fs::write(out.join("texts.rs"), out_texts + &out_json + &out_names)?;
    Ok(())
}

/// A language's texts: every `*.json` of its folder, an object of keys to strings.
fn read_language(folder: &Path) -> Result<Texts, Box<dyn Error>> {
    let mut texts = Texts::new();
    let mut files: Vec<PathBuf> = fs::read_dir(folder)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for file in files {
        let namespace = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("file name")?
            .to_string();
        let object: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&fs::read_to_string(&file)?)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        for (key, value) in object {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{}: `{key}` is not a string", file.display()))?;
            if !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(format!("{}: `{key}`: keys are snake_case", file.display()).into());
            }
            texts.insert((namespace.clone(), key), text.to_string());
        }
    }
    Ok(texts)
}

/// `items_one` → (`items`, `one`).
fn split_plural(key: &str) -> Option<(&str, &str)> {
    let (base, category) = key.rsplit_once('_')?;
    CATEGORIES.contains(&category).then_some((base, category))
}

/// The same keys as the reference (plural keys by their base, `_other` always there) and the
/// same placeholders in each text.
fn check_language(
    code: &str,
    texts: &Texts,
    reference: &Texts,
    plurals: &BTreeSet<(String, String)>,
) -> Result<(), Box<dyn Error>> {
    let base_keys = |texts: &Texts| -> BTreeSet<(String, String)> {
        texts
            .keys()
            .map(|(ns, key)| {
                (
                    ns.clone(),
                    split_plural(key)
                        .map_or(key.as_str(), |(b, _)| b)
                        .to_string(),
                )
            })
            .collect()
    };
    let (ours, theirs) = (base_keys(texts), base_keys(reference));
    if let Some((ns, key)) = theirs.difference(&ours).next() {
        return Err(
            format!("locales/{code}/{ns}.json lacks `{key}` (locales/{DEFAULT} has it)").into(),
        );
    }
    if let Some((ns, key)) = ours.difference(&theirs).next() {
        return Err(
            format!("locales/{code}/{ns}.json has `{key}`, which locales/{DEFAULT} lacks").into(),
        );
    }
    for (ns, base) in plurals {
        if !texts.contains_key(&(ns.clone(), format!("{base}_other"))) {
            return Err(format!("locales/{code}/{ns}.json lacks `{base}_other`").into());
        }
    }
    for ((ns, key), text) in texts {
        let base = split_plural(key).map_or(key.as_str(), |(b, _)| b);
        let reference_text = reference
            .get(&(ns.clone(), key.clone()))
            .or_else(|| reference.get(&(ns.clone(), format!("{base}_other"))))
            .ok_or_else(|| format!("locales/{code}/{ns}.json: `{key}` has no counterpart"))?;
        let mut expected = placeholders(reference_text);
        let mut found = placeholders(text);
        if plurals.contains(&(ns.clone(), base.to_string())) {
            // A plural text may leave the count out ("one item" / "an item").
            expected.remove("count");
            found.remove("count");
        }
        if expected != found {
            return Err(format!(
                "locales/{code}/{ns}.json: `{key}` has placeholders {found:?}, locales/{DEFAULT} {expected:?}"
            )
            .into());
        }
    }
    Ok(())
}

/// The `{{ name }}` placeholders of a text.
fn placeholders(text: &str) -> BTreeSet<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

/// `fr` → `Fr`.
fn variant(code: &str) -> String {
    let mut chars = code.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
