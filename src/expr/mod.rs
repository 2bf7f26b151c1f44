//! A small expression language for tilesets: layer filters, per-feature minimum zooms and computed properties.
//!
//! Expressions are written in TOML as MapLibre-style arrays (`["==", ["get", "kind"], "road"]`), with the legacy
//! filter shorthand (`["==", "kind", "road"]`, `["in", "class", "a", "b"]`, `"$type"`). The language is
//! documented for users in the README ("Expressions"). Config parses an [`Expr`] once ([`Expr::parse`]); the
//! pipeline evaluates it per feature against anything that implements [`Properties`] (a feature's properties
//! and geometry type here, OSM tags later) without allocating in the common cases (`get`, comparisons, `in`,
//! `match` on strings and numbers).
//!
//! - `parse.rs`: TOML value → [`Expr`], with arity, operator and type checks and the position of every error;
//! - `eval.rs`: evaluation ([`Expr::eval_bool`], [`Expr::eval_number`], [`Expr::eval_value`]) and comparison
//!   rules;
//! - `context.rs`: the [`Properties`] trait, [`ValueRef`], [`GeometryType`] and the two contexts
//!   ([`FeatureProperties`], [`TagProperties`]).

mod context;
mod eval;
mod parse;

pub use context::{FeatureProperties, GeometryType, Properties, TagProperties, ValueRef};

/// A parsed expression, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    node: Node,
}

/// An expression that could not be parsed: where (the key path plus the position inside the expression, e.g.
/// `layers[2].filter[1][0]`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ExprError {
    pub at: String,
    pub message: String,
}

/// What an expression gives, as far as it is known before evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Number,
    String,
    /// Depends on the data (`get`, `coalesce` of mixed kinds, …).
    Any,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Any => "a value",
        }
    }
}

impl Expr {
    /// What the expression gives, when known without data.
    pub fn kind(&self) -> Kind {
        self.node.kind()
    }
}

/// A literal of an expression: what TOML can write (no null, no tables).
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    String(Box<str>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One node of the syntax tree.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Literal(Literal),
    Get(Box<str>),
    GeometryType,
    Has(Box<str>),
    NotHas(Box<str>),
    Compare(Compare, Box<Node>, Box<Node>),
    /// `in` (or `!in` with `negated`): the input equals one of the literals.
    In {
        input: Box<Node>,
        values: Box<[Literal]>,
        negated: bool,
    },
    All(Box<[Node]>),
    Any(Box<[Node]>),
    Not(Box<Node>),
    /// Arms in order: the first whose labels hold the input gives the output.
    Match {
        input: Box<Node>,
        arms: Box<[(Box<[Literal]>, Node)]>,
        fallback: Box<Node>,
    },
    Coalesce(Box<[Node]>),
    ToNumber(Box<[Node]>),
    ToString(Box<Node>),
    ToBoolean(Box<Node>),
}

impl Node {
    fn kind(&self) -> Kind {
        match self {
            Node::Literal(Literal::String(_)) | Node::GeometryType | Node::ToString(_) => Kind::String,
            Node::Literal(Literal::Int(_) | Literal::Float(_)) | Node::ToNumber(_) => Kind::Number,
            Node::Literal(Literal::Bool(_))
            | Node::Has(_)
            | Node::NotHas(_)
            | Node::Compare(..)
            | Node::In { .. }
            | Node::All(_)
            | Node::Any(_)
            | Node::Not(_)
            | Node::ToBoolean(_) => Kind::Boolean,
            Node::Get(_) => Kind::Any,
            Node::Match { arms, fallback, .. } => {
                arms.iter().map(|(_, output)| output.kind()).fold(fallback.kind(), join)
            }
            Node::Coalesce(args) => args.iter().map(Node::kind).reduce(join).unwrap_or(Kind::Any),
        }
    }
}

fn join(a: Kind, b: Kind) -> Kind {
    if a == b { a } else { Kind::Any }
}

#[cfg(test)]
mod tests;
