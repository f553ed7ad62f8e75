//! The registry: stage types by name. The runner knows no stage type of its own: the
//! built-in set is [`Registry::builtin`], defined with the types in
//! [`crate::ops::stages`]; a program using the library can register its own types next
//! to them.

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
