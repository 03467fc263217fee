//! A crate's modules as the compiler finds them: which file each module lives
//! in, its child modules, the names it defines and the names it imports, and
//! how a path written in one module resolves to the module that holds its
//! item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source files by path: what the check reads (from disk, or from a test).
pub(crate) type Sources = BTreeMap<PathBuf, String>;

/// One crate (a library, a binary, a test or bench target): its files and modules.
pub(crate) struct Crate {
    /// The files of the crate; the first is its root.
    pub(crate) files: Vec<SourceFile>,
    /// The modules; the first is the crate root. Inline `mod x { }` blocks
    /// are modules of their own that live in their parent's file.
    pub(crate) modules: Vec<Module>,
}

/// One parsed file of a crate.
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) syntax: syn::File,
    /// The module the file is (not the inline modules inside it).
    pub(crate) module: usize,
}

/// One module: a file, or an inline `mod x { }` block.
#[derive(Debug)]
pub(crate) struct Module {
    pub(crate) file: usize,
    pub(crate) parent: Option<usize>,
    pub(crate) children: BTreeMap<String, usize>,
    /// Names of the items defined here (functions, types, traits, consts...).
    pub(crate) items: BTreeSet<String>,
    /// The module's own `use` declarations (not those inside function bodies).
    pub(crate) imports: Vec<Import>,
}

/// One leaf of a `use` tree: `use a::b::{c as d, e::*}` has two.
#[derive(Clone, Debug)]
pub(crate) struct Import {
    /// The name it brings into scope; `None` for a glob.
    pub(crate) name: Option<String>,
    /// The path as written: `["a", "b", "c"]`; for a glob, the module's path.
    pub(crate) path: Vec<String>,
    /// The 1-based line of the leaf.
    pub(crate) line: usize,
}

/// What a path leads to: a module, or an item defined in (or reached through) a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Module(usize),
    Item(usize),
}

impl Target {
    /// The module that holds what the path names.
    pub(crate) fn module(self) -> usize {
        match self {
            Target::Module(m) | Target::Item(m) => m,
        }
    }
}

/// A resolved path: what it names, and, when its first segment is a name a
/// `use` brought into scope, what that name itself names.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resolved {
    pub(crate) target: Target,
    pub(crate) through_import: Option<Target>,
}

/// Imports and globs that refer to each other end here (rustc rejects real
/// loops; real chains of re-exports are a few steps long).
const MAX_DEPTH: usize = 8;

impl Crate {
    /// Reads the crate whose root file is `root`, following `mod x;` declarations.
    pub(crate) fn load(sources: &Sources, root: &Path) -> Result<Crate, String> {
        let mut krate = Crate { files: Vec::new(), modules: Vec::new() };
        krate.load_file(sources, root, None, None)?;
        Ok(krate)
    }

    /// The module the crate root is.
    pub(crate) fn root(&self) -> usize {
        0
    }

    /// The file module `m` lives in.
    pub(crate) fn file_of(&self, m: usize) -> usize {
        self.modules[m].file
    }

    /// Whether `m` lies strictly inside `ancestor`.
    pub(crate) fn is_inside(&self, m: usize, ancestor: usize) -> bool {
        let mut at = self.modules[m].parent;
        while let Some(p) = at {
            if p == ancestor {
                return true;
            }
            at = self.modules[p].parent;
        }
        false
    }

    /// Parses `path` as module `name` of `parent` (or as the crate root) and
    /// registers it and the modules declared in it.
    fn load_file(
        &mut self,
        sources: &Sources,
        path: &Path,
        parent: Option<usize>,
        name: Option<&str>,
    ) -> Result<usize, String> {
        let text = sources.get(path).ok_or_else(|| format!("{} is missing", path.display()))?;
        let syntax = syn::parse_file(text).map_err(|e| {
            let at = e.span().start();
            format!("cannot parse {}:{}:{}: {e}", path.display(), at.line, at.column + 1)
        })?;
        if self.files.iter().any(|f| f.path == path) {
            return Err(format!("{} is declared as a module twice", path.display()));
        }
        let file = self.files.len();
        let module = self.add_module(file, parent, name);
        self.files.push(SourceFile { path: path.to_owned(), text: text.clone(), syntax, module });
        let dir = children_dir(path, parent.is_none());
        let items = std::mem::take(&mut self.files[file].syntax.items);
        let loaded = self.load_items(sources, module, &items, &dir, path);
        self.files[file].syntax.items = items;
        loaded.map(|()| module)
    }

    fn add_module(&mut self, file: usize, parent: Option<usize>, name: Option<&str>) -> usize {
        let m = self.modules.len();
        self.modules.push(Module {
            file,
            parent,
            children: BTreeMap::new(),
            items: BTreeSet::new(),
            imports: Vec::new(),
        });
        if let (Some(p), Some(name)) = (parent, name) {
            self.modules[p].children.insert(name.to_owned(), m);
        }
        m
    }

    /// Records the items of module `m`, whose child module files live in `dir`.
    fn load_items(
        &mut self,
        sources: &Sources,
        m: usize,
        items: &[syn::Item],
        dir: &Path,
        file_path: &Path,
    ) -> Result<(), String> {
        for item in items {
            match item {
                syn::Item::Mod(decl) => {
                    let name = decl.ident.to_string();
                    match &decl.content {
                        Some((_, inner)) => {
                            let file = self.modules[m].file;
                            let child = self.add_module(file, Some(m), Some(&name));
                            self.load_items(sources, child, inner, &dir.join(&name), file_path)?;
                        }
                        None => {
                            let path = module_file(sources, decl, dir, file_path)?;
                            self.load_file(sources, &path, Some(m), Some(&name))?;
                        }
                    }
                }
                syn::Item::Use(u) => {
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                    self.modules[m].imports.extend(leaves);
                }
                other => {
                    if let Some(name) = item_name(other) {
                        self.modules[m].items.insert(name);
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves `path`, written in module `from` where `scopes` are the
    /// imports of the enclosing blocks (innermost last). `None` for a path
    /// that leaves the crate (std, a dependency) or names a local binding.
    pub(crate) fn resolve(
        &self,
        from: usize,
        scopes: &[Vec<Import>],
        path: &[String],
    ) -> Option<Resolved> {
        self.resolve_at(from, scopes, path, 0)
    }

    fn resolve_at(
        &self,
        from: usize,
        scopes: &[Vec<Import>],
        path: &[String],
        depth: usize,
    ) -> Option<Resolved> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (first, rest) = path.split_first()?;
        let mut through_import = None;
        let mut at = match first.as_str() {
            "crate" => self.root(),
            "self" => from,
            "super" => self.modules[from].parent?,
            name => {
                let (target, imported) = self.lookup_in_scope(from, scopes, name, depth)?;
                if imported {
                    through_import = Some(target);
                }
                match target {
                    Target::Module(m) => m,
                    Target::Item(_) => return Some(Resolved { target, through_import }),
                }
            }
        };
        for segment in rest {
            if segment == "super" {
                at = self.modules[at].parent?;
                continue;
            }
            match self.lookup(at, segment, depth) {
                Some((Target::Module(m), _)) => at = m,
                Some((target, _)) => return Some(Resolved { target, through_import }),
                // A name the module does not declare visibly (made by a macro, say).
                None => return Some(Resolved { target: Target::Item(at), through_import }),
            }
        }
        Some(Resolved { target: Target::Module(at), through_import })
    }

    /// Looks up the first segment of a path: the enclosing blocks' imports,
    /// then the module's names. The flag says whether a `use` brought it.
    fn lookup_in_scope(
        &self,
        from: usize,
        scopes: &[Vec<Import>],
        name: &str,
        depth: usize,
    ) -> Option<(Target, bool)> {
        for scope in scopes.iter().rev() {
            if let Some(found) = self.lookup_imports(from, scope, name, depth) {
                return Some((found, true));
            }
        }
        self.lookup(from, name, depth)
    }

    /// Looks up `name` in module `m`: a child module, an item, an import, a
    /// glob import. The flag says whether a `use` brought it.
    fn lookup(&self, m: usize, name: &str, depth: usize) -> Option<(Target, bool)> {
        let module = &self.modules[m];
        if let Some(&child) = module.children.get(name) {
            return Some((Target::Module(child), false));
        }
        if module.items.contains(name) {
            return Some((Target::Item(m), false));
        }
        self.lookup_imports(m, &module.imports, name, depth).map(|t| (t, true))
    }

    /// What `name` names through `imports` declared in module `m`: a named
    /// import first, then what a glob brings.
    fn lookup_imports(
        &self,
        m: usize,
        imports: &[Import],
        name: &str,
        depth: usize,
    ) -> Option<Target> {
        // `use rayon;` names a dependency, not itself.
        let named = imports.iter().filter(|i| i.name.as_deref() == Some(name) && i.path != [name]);
        for import in named {
            if let Some(r) = self.resolve_at(m, &[], &import.path, depth + 1) {
                return Some(r.target);
            }
        }
        for glob in imports.iter().filter(|i| i.name.is_none()) {
            let Some(r) = self.resolve_at(m, &[], &glob.path, depth + 1) else { continue };
            if let Target::Module(g) = r.target
                && g != m
                && let Some((found, _)) = self.lookup(g, name, depth + 1)
            {
                return Some(found);
            }
        }
        None
    }
}

/// Where the files of the modules declared in `file` live: beside a crate
/// root or a `mod.rs`, else in a directory named after the file.
pub(crate) fn children_dir(file: &Path, is_root: bool) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("")).to_owned();
    if is_root || file.file_name().is_some_and(|n| n == "mod.rs") {
        dir
    } else {
        dir.join(file.file_stem().unwrap_or_default())
    }
}

/// The file of `mod name;` declared in `file_path` with children in `dir`:
/// its `#[path]`, else `dir/name.rs` or `dir/name/mod.rs`.
fn module_file(
    sources: &Sources,
    decl: &syn::ItemMod,
    dir: &Path,
    file_path: &Path,
) -> Result<PathBuf, String> {
    if let Some(path) = path_attribute(decl) {
        return Ok(file_path.parent().unwrap_or(Path::new("")).join(path));
    }
    let name = decl.ident.to_string();
    let candidates = [dir.join(format!("{name}.rs")), dir.join(&name).join("mod.rs")];
    candidates.iter().find(|c| sources.contains_key(*c)).cloned().ok_or_else(|| {
        let line = decl.ident.span().start().line;
        format!(
            "{}:{line}: no file for `mod {name};` (looked for {} and {})",
            file_path.display(),
            candidates[0].display(),
            candidates[1].display()
        )
    })
}

/// The files a file's `mod x;` declarations may name, whether the file is a
/// crate root or a module (used to tell which files are roots).
pub(crate) fn declared_files(path: &Path, text: &str) -> Vec<PathBuf> {
    let Ok(syntax) = syn::parse_file(text) else { return Vec::new() };
    let mut found = Vec::new();
    for dir in [children_dir(path, true), children_dir(path, false)] {
        declared_in(&syntax.items, &dir, path, &mut found);
    }
    found
}

fn declared_in(items: &[syn::Item], dir: &Path, file: &Path, found: &mut Vec<PathBuf>) {
    for item in items {
        let syn::Item::Mod(decl) = item else { continue };
        let name = decl.ident.to_string();
        match &decl.content {
            Some((_, inner)) => declared_in(inner, &dir.join(&name), file, found),
            None => match path_attribute(decl) {
                Some(path) => found.push(file.parent().unwrap_or(Path::new("")).join(path)),
                None => {
                    found.push(dir.join(format!("{name}.rs")));
                    found.push(dir.join(&name).join("mod.rs"));
                }
            },
        }
    }
}

/// The value of a `#[path = "..."]` attribute.
fn path_attribute(decl: &syn::ItemMod) -> Option<String> {
    decl.attrs.iter().find_map(|attr| {
        let syn::Meta::NameValue(nv) = &attr.meta else { return None };
        if !nv.path.is_ident("path") {
            return None;
        }
        match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        }
    })
}

/// The name an item defines in its module's namespace, if any.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// Flattens a `use` tree into its leaves; `prefix` is the path so far.
pub(crate) fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Import>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let line = n.ident.span().start().line;
            let ident = n.ident.to_string();
            if ident == "self" {
                // `use a::b::{self}` names `b` itself.
                let name = prefix.last().cloned();
                out.push(Import { name, path: prefix.clone(), line });
            } else {
                let mut path = prefix.clone();
                path.push(ident.clone());
                out.push(Import { name: Some(ident), path, line });
            }
        }
        syn::UseTree::Rename(r) => {
            let line = r.ident.span().start().line;
            let mut path = prefix.clone();
            let ident = r.ident.to_string();
            if ident != "self" {
                path.push(ident);
            }
            let alias = r.rename.to_string();
            // `as _` brings no name into scope, but is still a use.
            let name = if alias == "_" { Some(String::new()) } else { Some(alias) };
            out.push(Import { name, path, line });
        }
        syn::UseTree::Glob(g) => {
            let line = g.star_token.spans[0].start().line;
            out.push(Import { name: None, path: prefix.clone(), line });
        }
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix, out);
            }
        }
    }
}
