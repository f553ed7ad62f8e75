//! The registry: stage types by name. The built-in set lives in [`super::stages`];
//! a program using the library can register its own types next to them.

use super::stage::StageType;

/// Stage types by their `type` name.
pub struct Registry {
    types: Vec<Box<dyn StageType>>,
}

impl Registry {
    /// A registry with no types.
    pub fn empty() -> Self {
        Registry { types: Vec::new() }
    }

    /// Every built-in stage type.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        for t in super::stages::builtin() {
            r.register(t);
        }
        r
    }

    /// Add a type; a type of the same name is replaced.
    pub fn register(&mut self, stage_type: Box<dyn StageType>) {
        self.types.retain(|t| t.name() != stage_type.name());
        self.types.push(stage_type);
    }

    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn StageType> {
        self.types
            .iter()
            .find(|t| t.name() == name)
            .map(|t| t.as_ref())
    }

    /// All types, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn StageType> {
        self.types.iter().map(|t| t.as_ref())
    }

    /// All type names.
    pub fn names(&self) -> Vec<&'static str> {
        self.types.iter().map(|t| t.name()).collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}
