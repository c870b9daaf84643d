//! Test support: validates JSON bodies against WorkOS's published OpenAPI spec
//! (`@workos/openapi-spec@0.1.0` on npm, OpenAPI 3.1.1 / JSON Schema 2020-12).
//!
//! The spec is not committed. [`Spec::load`] fetches it with `npm pack` the first time and caches
//! it under `<cargo target dir>/openapi/0.1.0/` (shared by every test binary of the workspace).
//! Set `WORKOS_OPENAPI_SPEC=/path/to/open-api-spec.yaml` to use a local copy instead (no npm).
//!
//! Include from an integration test with `#[path = "support/spec.rs"] mod spec;`.
//!
//! Dev-dependencies: `serde_json = "1"`, `serde_yaml = "0.9"`,
//! `jsonschema = { version = "0.61.2", default-features = false }`.
//! External tools (first run only): `npm` and `tar` on PATH.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// npm package and version the spec is fetched from.
pub const SPEC_PACKAGE: &str = "@workos/openapi-spec";
pub const SPEC_VERSION: &str = "0.1.0";
/// File name of the spec inside the npm tarball's `package/` directory.
const SPEC_FILE: &str = "open-api-spec.yaml";
/// Env var naming a local copy of the spec YAML; when set, npm is not used.
const SPEC_OVERRIDE_ENV: &str = "WORKOS_OPENAPI_SPEC";

/// URI under which the spec is registered for `$ref` resolution (never fetched).
const SPEC_URI: &str = "urn:workos:openapi-spec";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The loaded WorkOS OpenAPI document plus lazily compiled validators.
pub struct Spec {
    /// The whole spec, converted from YAML to JSON. Validators are compiled against it so that
    /// `#/components/...` references resolve.
    doc: Value,
    /// Path templates, with their segments pre-split.
    templates: Vec<Template>,
    /// The spec registered as a JSON Schema resource under [`SPEC_URI`].
    registry: jsonschema::Registry<'static>,
    /// Compiled validators keyed by JSON pointer (into `doc`) of the schema.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

struct Template {
    path: String,
    segments: Vec<Segment>,
}

enum Segment {
    Literal(String),
    Param,
}

impl Spec {
    /// Loads the spec, fetching it with `npm pack @workos/openapi-spec@0.1.0` into
    /// `<target dir>/openapi/0.1.0/` the first time (later runs reuse the cache). Safe when
    /// several test binaries call it concurrently (write to a temp dir then rename). Panics
    /// with a clear message if npm is missing or the download fails. Cached in a process-wide
    /// OnceLock, so calling it repeatedly is cheap.
    pub fn load() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            let file = spec_file();
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
                panic!("cannot read WorkOS OpenAPI spec {}: {e}", file.display())
            });
            let doc: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| {
                panic!("cannot parse WorkOS OpenAPI spec {}: {e}", file.display())
            });
            Spec::from_document(doc)
        })
    }

    /// Builds a `Spec` from an already parsed OpenAPI 3.1 document.
    fn from_document(mut doc: Value) -> Spec {
        // A few schemas list a name twice in `required` (`OrganizationList`: "list_metadata"),
        // which the validator then reports missing even when present.
        dedupe_required(&mut doc);
        let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
        assert!(
            version.starts_with("3.1"),
            "expected an OpenAPI 3.1 document, got openapi: {version:?}"
        );
        let templates = doc
            .get("paths")
            .and_then(Value::as_object)
            .map(|paths| {
                paths
                    .keys()
                    .map(|path| Template {
                        path: path.clone(),
                        segments: split_path(path)
                            .map(|s| {
                                if s.starts_with('{') && s.ends_with('}') {
                                    Segment::Param
                                } else {
                                    Segment::Literal(s.to_owned())
                                }
                            })
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add(SPEC_URI, doc.clone())
            .and_then(|r| r.prepare())
            .unwrap_or_else(|e| panic!("cannot register the spec as a JSON Schema resource: {e}"));
        Spec {
            doc,
            registry,
            templates,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Finds the spec path template matching a concrete request path, e.g.
    /// "/user_management/users/user_01H" -> "/user_management/users/{id}". Literal segments win
    /// over parameters ("/user_management/users/external_id/x" matches the external_id template).
    ///
    /// Only templates that define an operation for `method` (case-insensitive) are considered.
    /// A query string (`?...`) on `path` is ignored.
    pub fn match_path(&self, method: &str, path: &str) -> Option<String> {
        let method = method.to_ascii_lowercase();
        self.match_template(path, |t| self.operation(&t.path, &method).is_some())
            .map(|t| t.path.clone())
    }

    /// Validates a JSON response body against the schema the spec gives for
    /// (method, concrete path, status). Err lists every violation as "instance_path: message".
    /// Err also if the spec does not document that status for that operation (message says so).
    ///
    /// Status lookup follows OpenAPI: exact code, then `4XX`-style ranges, then `default`. A
    /// documented status whose response has no `application/json` schema (e.g. 204) accepts
    /// only `Value::Null` as the body.
    pub fn validate_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let (template, method) = self.resolve_operation(method, path)?;
        let op_pointer = format!("/paths/{}/{method}", escape_pointer(&template));
        let label = format!("{} {template}", method.to_ascii_uppercase());
        let responses = self.doc.pointer(&format!("{op_pointer}/responses"));
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some((key, response)) = [code.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|k| responses?.get(k).map(|r| (k, r)))
        else {
            let documented: Vec<&String> = responses
                .and_then(Value::as_object)
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            return Err(vec![format!(
                "the spec does not document status {status} for {label} (documented: {documented:?})"
            )]);
        };
        let mut pointer = format!("{op_pointer}/responses/{}", escape_pointer(key));
        let response = self.deref(response, &mut pointer);
        match response.pointer("/content/application~1json/schema") {
            Some(_) => {
                pointer.push_str("/content/application~1json/schema");
                self.validate_at(&pointer, body)
            }
            None if body.is_null() => Ok(()),
            None => Err(vec![format!(
                "the spec gives no application/json body for status {status} of {label}, \
                 but a non-null body was supplied"
            )]),
        }
    }

    /// Validates a JSON request body against the operation's requestBody schema
    /// (application/json). Err if the operation has no JSON body in the spec.
    pub fn validate_request(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let (template, method) = self.resolve_operation(method, path)?;
        let mut pointer = format!("/paths/{}/{method}/requestBody", escape_pointer(&template));
        let Some(request_body) = self.doc.pointer(&pointer) else {
            return Err(vec![format!(
                "the spec declares no request body for {} {template}",
                method.to_ascii_uppercase()
            )]);
        };
        let request_body = self.deref(request_body, &mut pointer);
        if request_body
            .pointer("/content/application~1json/schema")
            .is_none()
        {
            return Err(vec![format!(
                "the spec declares no application/json request body for {} {template}",
                method.to_ascii_uppercase()
            )]);
        }
        pointer.push_str("/content/application~1json/schema");
        self.validate_at(&pointer, body)
    }

    /// The names of the query parameters the spec declares for the operation (so a test can check
    /// the client sends no undeclared parameter).
    pub fn query_params(&self, method: &str, path: &str) -> Option<Vec<String>> {
        let (template, method) = self.resolve_operation(method, path).ok()?;
        let path_item = self
            .doc
            .pointer(&format!("/paths/{}", escape_pointer(&template)))?;
        let mut names: Vec<String> = Vec::new();
        let lists = [
            path_item.get("parameters"),
            path_item[method.as_str()].get("parameters"),
        ];
        for param in lists
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
        {
            let param = self.deref(param, &mut String::new());
            if param.get("in").and_then(Value::as_str) == Some("query")
                && let Some(name) = param.get("name").and_then(Value::as_str)
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
        }
        Some(names)
    }

    /// Validates `instance` against the schema at JSON pointer `pointer` inside the spec (e.g.
    /// `/components/schemas/UserObject`). Lower-level escape hatch for tests that want to check a
    /// fragment (webhook payloads, a nested object, a spec `example`).
    pub fn validate_schema_at(&self, pointer: &str, instance: &Value) -> Result<(), Vec<String>> {
        if self.doc.pointer(pointer).is_none() {
            return Err(vec![format!(
                "no schema at JSON pointer {pointer:?} in the spec"
            )]);
        }
        self.validate_at(pointer, instance)
    }

    /// The raw OpenAPI document (as JSON).
    pub fn document(&self) -> &Value {
        &self.doc
    }

    // ---------------------------------------------------------------------------------------

    fn validate_at(&self, pointer: &str, instance: &Value) -> Result<(), Vec<String>> {
        let validator = self.validator(pointer);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| describe(&e))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Compiles (once per pointer) a validator whose root is the whole spec plus a top-level
    /// `$ref` to the wanted schema, so `#/components/...` references resolve.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        if let Some(v) = self.lock().get(pointer) {
            return Arc::clone(v);
        }
        // Compile outside the lock; a concurrent duplicate compile is harmless.
        let wrapper =
            serde_json::json!({ "$ref": format!("{SPEC_URI}{}", pointer_to_fragment(pointer)) });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .with_registry(&self.registry)
            .build(&wrapper)
            .unwrap_or_else(|e| panic!("cannot compile spec schema at {pointer}: {e}"));
        Arc::clone(
            self.lock()
                .entry(pointer.to_owned())
                .or_insert_with(|| Arc::new(validator)),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<jsonschema::Validator>>> {
        self.validators.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows OpenAPI-level `$ref`s (`{"$ref": "#/components/responses/X"}`), updating `pointer`.
    fn deref<'a>(&'a self, mut value: &'a Value, pointer: &mut String) -> &'a Value {
        while let Some(target) = value.get("$ref").and_then(Value::as_str) {
            let Some(p) = target.strip_prefix('#') else {
                break;
            };
            let Some(next) = self.doc.pointer(p) else {
                break;
            };
            *pointer = p.to_owned();
            value = next;
        }
        value
    }

    fn operation(&self, template: &str, method: &str) -> Option<&Value> {
        self.doc.get("paths")?.get(template)?.get(method)
    }

    /// Matches `path` to a template and method, with an explanatory error if it cannot.
    fn resolve_operation(&self, method: &str, path: &str) -> Result<(String, String), Vec<String>> {
        let lower = method.to_ascii_lowercase();
        if let Some(t) = self.match_template(path, |t| self.operation(&t.path, &lower).is_some()) {
            return Ok((t.path.clone(), lower));
        }
        let message = match self.match_template(path, |_| true) {
            Some(t) => {
                let defined: Vec<String> = METHODS
                    .iter()
                    .filter(|m| self.operation(&t.path, m).is_some())
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                format!(
                    "the spec has no {} operation for {path} (template {} defines {defined:?})",
                    method.to_ascii_uppercase(),
                    t.path
                )
            }
            None => format!("no path template in the spec matches {path}"),
        };
        Err(vec![message])
    }

    /// Most specific template matching `path` among those accepted by `filter`: segments are
    /// compared left to right and a literal beats a parameter.
    fn match_template(&self, path: &str, filter: impl Fn(&Template) -> bool) -> Option<&Template> {
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = split_path(path).collect();
        let mut best: Option<(&Template, Vec<bool>)> = None;
        for template in &self.templates {
            if template.segments.len() != segments.len() {
                continue;
            }
            let mut rank = Vec::with_capacity(segments.len());
            let matches = template
                .segments
                .iter()
                .zip(&segments)
                .all(|(t, s)| match t {
                    Segment::Literal(l) => {
                        rank.push(false);
                        l == s
                    }
                    Segment::Param => {
                        rank.push(true);
                        !s.is_empty()
                    }
                });
            if !matches || !filter(template) {
                continue;
            }
            // `false` (literal) sorts before `true` (parameter): smaller rank is more specific.
            if best.as_ref().is_none_or(|(_, r)| rank < *r) {
                best = Some((template, rank));
            }
        }
        best.map(|(t, _)| t)
    }
}

/// Splits a path into segments, ignoring one leading and one trailing `/`. Inner empty segments
/// (`a//b`) are kept, so they match neither a literal nor a parameter.
fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/')
}

/// Escapes a JSON pointer reference token (RFC 6901): `~` -> `~0`, `/` -> `~1`.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Turns a JSON pointer into a URI fragment (`#...`), percent-encoding characters such as `{`
/// and `}` (from path templates) that are not allowed in a URI fragment.
fn pointer_to_fragment(pointer: &str) -> String {
    let mut fragment = String::from("#");
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&byte) {
            fragment.push(char::from(byte));
        } else {
            let _ = write!(fragment, "%{byte:02X}");
        }
    }
    fragment
}

/// Formats one validation error as "instance_path: message", expanding `oneOf`/`anyOf`
/// failures into the errors of each branch.
fn describe(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    let path = error.instance_path().to_string();
    let path = if path.is_empty() {
        "(root)".to_owned()
    } else {
        path
    };
    let (keyword, context) = match error.kind() {
        Kind::OneOfNotValid { context } => ("oneOf", context),
        Kind::AnyOf { context } => ("anyOf", context),
        _ => return format!("{path}: {}", shorten(&error.to_string())),
    };
    let mut message = format!("{path}: matches none of the '{keyword}' alternatives");
    for (i, branch) in context.iter().enumerate() {
        let branch: Vec<String> = branch.iter().map(describe).collect();
        let _ = write!(message, " [#{i}: {}]", branch.join("; "));
    }
    message
}

/// Keeps messages readable when the validator embeds a large instance in them.
fn shorten(message: &str) -> String {
    const MAX: usize = 300;
    if message.chars().count() <= MAX {
        return message.to_owned();
    }
    let head: String = message.chars().take(MAX / 2).collect();
    let tail: String = {
        let rev: Vec<char> = message.chars().rev().take(MAX / 2).collect();
        rev.into_iter().rev().collect()
    };
    format!("{head} … {tail}")
}

// ---------------------------------------------------------------------------------------------
// Fetching and caching the spec file.

/// Returns the path of the spec YAML, fetching it into the cache if needed.
fn spec_file() -> PathBuf {
    if let Some(path) = std::env::var_os(SPEC_OVERRIDE_ENV) {
        return PathBuf::from(path);
    }
    let cache_root = target_dir().join("openapi");
    let dir = cache_root.join(SPEC_VERSION);
    let file = dir.join(SPEC_FILE);
    if !file.is_file() {
        fetch_into(&cache_root, &dir);
    }
    assert!(
        file.is_file(),
        "WorkOS OpenAPI spec cache {} has no {SPEC_FILE}; delete the directory and retry",
        dir.display()
    );
    file
}

/// The cargo target directory of the test binary that includes this module.
fn target_dir() -> PathBuf {
    // Cargo sets CARGO_TARGET_TMPDIR (= <target dir>/tmp) when compiling integration tests.
    if let Some(tmp) = option_env!("CARGO_TARGET_TMPDIR")
        && let Some(parent) = Path::new(tmp).parent()
    {
        return parent.to_path_buf();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// Downloads the npm package into a private temp dir under `cache_root`, then renames its
/// `package/` directory to `dest`. Losing a rename race to another process is fine.
fn fetch_into(cache_root: &Path, dest: &Path) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = cache_root.join(format!(".fetch-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&tmp)
        .unwrap_or_else(|e| panic!("cannot create spec cache dir {}: {e}", tmp.display()));
    let _cleanup = RemoveOnDrop(tmp.clone());

    let spec = format!("{SPEC_PACKAGE}@{SPEC_VERSION}");
    let output = Command::new("npm")
        .args(["pack", &spec, "--ignore-scripts", "--loglevel=error"])
        .current_dir(&tmp)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `npm pack {spec}` to fetch the WorkOS OpenAPI spec ({e}). \
                 Install Node.js/npm, or set {SPEC_OVERRIDE_ENV}=/path/to/{SPEC_FILE}"
            )
        });
    assert!(
        output.status.success(),
        "`npm pack {spec}` failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tarball = std::fs::read_dir(&tmp)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .unwrap_or_else(|| panic!("`npm pack {spec}` produced no .tgz in {}", tmp.display()));
    let output = Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&tmp)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `tar` to unpack {}: {e}", tarball.display()));
    assert!(
        output.status.success(),
        "`tar xzf {}` failed: {}",
        tarball.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let package = tmp.join("package");
    assert!(
        package.join(SPEC_FILE).is_file(),
        "the {spec} tarball has no package/{SPEC_FILE}"
    );
    if let Err(e) = std::fs::rename(&package, dest) {
        // Another process may have won the race; its copy is complete (renames are atomic).
        assert!(
            dest.join(SPEC_FILE).is_file(),
            "cannot move the spec into {}: {e}",
            dest.display()
        );
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes repeated names from every `required` array (JSON Schema wants them unique).
fn dedupe_required(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(names)) = map.get_mut("required") {
                let mut seen = std::collections::HashSet::new();
                names.retain(|n| seen.insert(n.to_string()));
            }
            map.values_mut().for_each(dedupe_required);
        }
        Value::Array(items) => items.iter_mut().for_each(dedupe_required),
        _ => {}
    }
}
