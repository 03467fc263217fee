//! The edges between a crate's files: each place where one file names,
//! through a path or a `use`, an item of a module that lives in another file.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

use super::modules::{Crate, Import, Resolved, use_leaves};

/// File `from` names something of file `to` at `line` (1-based) of `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Edge {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) line: usize,
}

/// Every edge between the files of `krate`, sorted, one per line.
pub(crate) fn edges(krate: &Crate) -> Vec<Edge> {
    let mut found = Vec::new();
    for (file, source) in krate.files.iter().enumerate() {
        let mut walker =
            Walker { krate, file, module: source.module, scopes: Vec::new(), found: &mut found };
        walker.visit_file(&source.syntax);
    }
    found.sort();
    found.dedup();
    found
}

/// Walks one file's syntax tree, knowing which module and which blocks it is in.
struct Walker<'a> {
    krate: &'a Crate,
    file: usize,
    module: usize,
    /// The `use` declarations of the enclosing blocks, innermost last.
    scopes: Vec<Vec<Import>>,
    found: &'a mut Vec<Edge>,
}

impl Walker<'_> {
    /// Records where `path` (at `line`) leads, if that is another file.
    fn path(&mut self, path: &[String], line: usize) {
        if let Some(resolved) = self.krate.resolve(self.module, &self.scopes, path) {
            self.add(resolved, line);
        }
    }

    fn add(&mut self, resolved: Resolved, line: usize) {
        let to = self.krate.file_of(resolved.target.module());
        // `use crate::b::Item;` made the edge; each later `Item::x` is the same one.
        if let Some(name) = resolved.through_import
            && self.krate.file_of(name.module()) == to
        {
            return;
        }
        if to != self.file {
            self.found.push(Edge { from: self.file, to, line });
        }
    }

    /// Paths in a macro's tokens (`assert!(crate::b::f())`): runs of
    /// `ident::ident…`; literals (strings) and comments are no tokens of this kind.
    fn token_paths(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            let TokenTree::Ident(first) = &trees[i] else {
                if let TokenTree::Group(group) = &trees[i] {
                    self.token_paths(group.stream());
                }
                i += 1;
                continue;
            };
            let mut path = vec![first.to_string()];
            let mut next = i + 1;
            while let (
                Some(TokenTree::Punct(a)),
                Some(TokenTree::Punct(b)),
                Some(TokenTree::Ident(s)),
            ) = (trees.get(next), trees.get(next + 1), trees.get(next + 2))
                && a.as_char() == ':'
                && a.spacing() == Spacing::Joint
                && b.as_char() == ':'
            {
                path.push(s.to_string());
                next += 3;
            }
            let before = |back: usize| match i.checked_sub(back).map(|j| &trees[j]) {
                Some(TokenTree::Punct(p)) => Some((p.as_char(), p.spacing())),
                _ => None,
            };
            // `x.a::<T>` is a method; `::a::b` an external crate; `$a` a
            // macro variable, but `$crate::b` is this crate.
            let method = before(1).is_some_and(|(c, _)| c == '.');
            let external = before(1).is_some_and(|(c, _)| c == ':')
                && before(2) == Some((':', Spacing::Joint));
            let variable = before(1).is_some_and(|(c, _)| c == '$') && path[0] != "crate";
            if path.len() >= 2 && !method && !external && !variable {
                self.path(&path, first.span().start().line);
            }
            i = next;
        }
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // `mod b;` declares a module, it uses nothing; the file is walked on its own.
        let Some((_, items)) = &item.content else { return };
        let name = item.ident.to_string();
        let inner = self.krate.modules[self.module].children.get(&name).copied();
        let (outer, outer_scopes) = (self.module, std::mem::take(&mut self.scopes));
        self.module = inner.unwrap_or(outer);
        for item in items {
            self.visit_item(item);
        }
        self.module = outer;
        self.scopes = outer_scopes;
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut leaves = Vec::new();
        use_leaves(&item.tree, &mut Vec::new(), &mut leaves);
        let public = !matches!(item.vis, syn::Visibility::Inherited);
        let file_module = self.krate.files[self.file].module;
        for leaf in leaves {
            let Some(resolved) = self.krate.resolve(self.module, &self.scopes, &leaf.path) else {
                continue;
            };
            // A file's re-exports of its own submodules' items are its map
            // (lib.rs's `pub use b::Name`), not a use.
            if public && self.krate.is_inside(resolved.target.module(), file_module) {
                continue;
            }
            self.add(resolved, leaf.line);
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let mut scope = Vec::new();
        for stmt in &block.stmts {
            if let syn::Stmt::Item(syn::Item::Use(item)) = stmt {
                use_leaves(&item.tree, &mut Vec::new(), &mut scope);
            }
        }
        self.scopes.push(scope);
        visit::visit_block(self, block);
        self.scopes.pop();
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // A one-segment path is a local name or something a `use` brought
        // (that `use` is the edge); `::a::b` is another crate.
        if path.segments.len() >= 2 && path.leading_colon.is_none() {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.path(&segments, path.segments[0].ident.span().start().line);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.token_paths(mac.tokens.clone());
    }

    // `pub(crate)`, `pub(super)` name modules but use nothing in them.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    // Doc comments, `cfg`s and derives: no uses (intra-doc links do not count).
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}
