//! Evaluation of an [`Expr`] against [`Properties`], and the comparison rules.
//!
//! Values are borrowed from the expression and the context; only `to-string` of a number or boolean allocates.
//! Numbers compare by value across integers and floats (exactly: `2^53 + 1` is not equal to the float `2^53`);
//! NaN equals nothing and orders with nothing. A string never equals a number, and ordering (`<`, `<=`, `>`,
//! `>=`) is defined only between two numbers or two strings (bytewise): across types it is false. A missing
//! property is null: null equals only null.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::{Compare, Expr, Literal, Node, Properties, ValueRef};
use crate::source::Value;

/// An evaluated value.
#[derive(Debug, Clone, PartialEq)]
enum Out<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(Cow<'a, str>),
}

#[derive(Debug, Clone, Copy)]
enum Number {
    Int(i64),
    UInt(u64),
    Float(f64),
}

impl Expr {
    /// A filter's verdict: true only for the boolean true (null, strings and numbers are false).
    pub fn eval_bool<P: Properties + ?Sized>(&self, ctx: &P) -> bool {
        truth(&self.node, ctx)
    }

    /// The expression's number, or `None` when it gives anything else (null, a string, a boolean) or NaN.
    pub fn eval_number<P: Properties + ?Sized>(&self, ctx: &P) -> Option<f64> {
        match eval(&self.node, ctx) {
            Out::Int(i) => Some(i as f64),
            Out::UInt(u) => Some(u as f64),
            Out::Float(f) if !f.is_nan() => Some(f),
            _ => None,
        }
    }

    /// The expression's value as a property value; `None` for null.
    pub fn eval_value<P: Properties + ?Sized>(&self, ctx: &P) -> Option<Value> {
        Some(match eval(&self.node, ctx) {
            Out::Null => return None,
            Out::Bool(b) => Value::Bool(b),
            Out::Int(i) => Value::Int(i),
            Out::UInt(u) => Value::UInt(u),
            Out::Float(f) => Value::Float(f),
            Out::String(s) => Value::String(s.into_owned()),
        })
    }
}

fn truth<P: Properties + ?Sized>(node: &Node, ctx: &P) -> bool {
    match node {
        Node::Literal(Literal::Bool(b)) => *b,
        Node::Has(key) => ctx.get(key).is_some(),
        Node::NotHas(key) => ctx.get(key).is_none(),
        Node::Compare(op, left, right) => compare(*op, &eval(left, ctx), &eval(right, ctx)),
        Node::In { input, values, negated } => {
            let input = eval(input, ctx);
            values.iter().any(|v| equal(&input, &literal(v))) != *negated
        }
        Node::All(args) => args.iter().all(|a| truth(a, ctx)),
        Node::Any(args) => args.iter().any(|a| truth(a, ctx)),
        Node::Not(arg) => !truth(arg, ctx),
        Node::ToBoolean(arg) => to_boolean(&eval(arg, ctx)),
        other => matches!(eval(other, ctx), Out::Bool(true)),
    }
}

fn eval<'a, P: Properties + ?Sized>(node: &'a Node, ctx: &'a P) -> Out<'a> {
    match node {
        Node::Literal(l) => literal(l),
        Node::Get(key) => ctx.get(key).map_or(Out::Null, from_ref),
        Node::GeometryType => Out::String(Cow::Borrowed(ctx.geometry_type().as_str())),
        Node::Has(_)
        | Node::NotHas(_)
        | Node::Compare(..)
        | Node::In { .. }
        | Node::All(_)
        | Node::Any(_)
        | Node::Not(_)
        | Node::ToBoolean(_) => Out::Bool(truth(node, ctx)),
        Node::Match { input, arms, fallback } => {
            let input = eval(input, ctx);
            let arm = arms.iter().find(|(labels, _)| labels.iter().any(|l| equal(&input, &literal(l))));
            eval(arm.map_or(&**fallback, |(_, output)| output), ctx)
        }
        Node::Coalesce(args) => args.iter().map(|a| eval(a, ctx)).find(|v| *v != Out::Null).unwrap_or(Out::Null),
        Node::ToNumber(args) => args.iter().find_map(|a| to_number(eval(a, ctx))).unwrap_or(Out::Null),
        Node::ToString(arg) => match eval(arg, ctx) {
            Out::Null => Out::Null,
            Out::String(s) => Out::String(s),
            Out::Bool(b) => Out::String(Cow::Borrowed(if b { "true" } else { "false" })),
            Out::Int(i) => Out::String(Cow::Owned(i.to_string())),
            Out::UInt(u) => Out::String(Cow::Owned(u.to_string())),
            Out::Float(f) => Out::String(Cow::Owned(f.to_string())),
        },
    }
}

fn literal(l: &Literal) -> Out<'_> {
    match l {
        Literal::String(s) => Out::String(Cow::Borrowed(s)),
        Literal::Int(i) => Out::Int(*i),
        Literal::Float(f) => Out::Float(*f),
        Literal::Bool(b) => Out::Bool(*b),
    }
}

fn from_ref(value: ValueRef<'_>) -> Out<'_> {
    match value {
        ValueRef::String(s) => Out::String(Cow::Borrowed(s)),
        ValueRef::Int(i) => Out::Int(i),
        ValueRef::UInt(u) => Out::UInt(u),
        ValueRef::Float(f) => Out::Float(f),
        ValueRef::Bool(b) => Out::Bool(b),
    }
}

/// Whether two labels of a `match` are the same (by the rules of `==`).
pub(super) fn literals_equal(a: &Literal, b: &Literal) -> bool {
    equal(&literal(a), &literal(b))
}

fn number(value: &Out<'_>) -> Option<Number> {
    match value {
        Out::Int(i) => Some(Number::Int(*i)),
        Out::UInt(u) => Some(Number::UInt(*u)),
        Out::Float(f) => Some(Number::Float(*f)),
        _ => None,
    }
}

fn equal(a: &Out<'_>, b: &Out<'_>) -> bool {
    match (a, b) {
        (Out::Null, Out::Null) => true,
        (Out::Bool(x), Out::Bool(y)) => x == y,
        (Out::String(x), Out::String(y)) => x == y,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => compare_numbers(x, y) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

fn order(a: &Out<'_>, b: &Out<'_>) -> Option<Ordering> {
    match (a, b) {
        (Out::String(x), Out::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => compare_numbers(number(a)?, number(b)?),
    }
}

fn compare(op: Compare, a: &Out<'_>, b: &Out<'_>) -> bool {
    match op {
        Compare::Eq => equal(a, b),
        Compare::Ne => !equal(a, b),
        Compare::Lt => order(a, b) == Some(Ordering::Less),
        Compare::Le => matches!(order(a, b), Some(Ordering::Less | Ordering::Equal)),
        Compare::Gt => order(a, b) == Some(Ordering::Greater),
        Compare::Ge => matches!(order(a, b), Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// Exact comparison of two numbers of any representation; `None` when either is NaN.
fn compare_numbers(a: Number, b: Number) -> Option<Ordering> {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => Some(x.cmp(&y)),
        (Number::UInt(x), Number::UInt(y)) => Some(x.cmp(&y)),
        (Number::Float(x), Number::Float(y)) => x.partial_cmp(&y),
        (Number::Int(x), Number::UInt(y)) => Some(if x < 0 { Ordering::Less } else { (x as u64).cmp(&y) }),
        (Number::UInt(_), Number::Int(_)) => compare_numbers(b, a).map(Ordering::reverse),
        (Number::Float(x), Number::Int(y)) => float_vs_int(x, y),
        (Number::Float(x), Number::UInt(y)) => float_vs_uint(x, y),
        (Number::Int(_) | Number::UInt(_), Number::Float(_)) => compare_numbers(b, a).map(Ordering::reverse),
    }
}

/// 2^63 and 2^64 as floats (exact).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

fn float_vs_int(x: f64, y: i64) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x < -TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if x >= TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    // |trunc(x)| < 2^63: the cast is exact; a tie on the whole part is settled by the fraction.
    let whole = x.trunc();
    match (whole as i64).cmp(&y) {
        Ordering::Equal => x.partial_cmp(&whole),
        unequal => Some(unequal),
    }
}

fn float_vs_uint(x: f64, y: u64) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x < 0.0 {
        return Some(Ordering::Less);
    }
    if x >= TWO_POW_64 {
        return Some(Ordering::Greater);
    }
    let whole = x.trunc();
    match (whole as u64).cmp(&y) {
        Ordering::Equal => x.partial_cmp(&whole),
        unequal => Some(unequal),
    }
}

/// `to-number` of one operand: numbers as they are (NaN and infinities fail), booleans 1 or 0, strings parsed
/// (surrounding spaces allowed; an integer stays an integer), anything else (null, an empty string) fails.
fn to_number(value: Out<'_>) -> Option<Out<'static>> {
    match value {
        Out::Int(i) => Some(Out::Int(i)),
        Out::UInt(u) => Some(Out::UInt(u)),
        Out::Float(f) => f.is_finite().then_some(Out::Float(f)),
        Out::Bool(b) => Some(Out::Int(i64::from(b))),
        Out::Null => None,
        Out::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                Some(Out::Int(i))
            } else if let Ok(u) = s.parse::<u64>() {
                Some(Out::UInt(u))
            } else {
                // Rust also reads "inf" and "NaN"; those are no numbers here.
                s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Out::Float)
            }
        }
    }
}

/// `to-boolean`: false for null, false, 0, NaN and the empty string; true for everything else.
fn to_boolean(value: &Out<'_>) -> bool {
    match value {
        Out::Null => false,
        Out::Bool(b) => *b,
        Out::Int(i) => *i != 0,
        Out::UInt(u) => *u != 0,
        Out::Float(f) => *f != 0.0 && !f.is_nan(),
        Out::String(s) => !s.is_empty(),
    }
}
