//! TOML value → [`Expr`]: operator names, arity, literal lists and what each operand must give, checked once,
//! with the position of every error inside the expression (`layers[2].filter[1][0]`).

use toml::Value as Toml;

use super::{Compare, Expr, ExprError, Kind, Literal, Node};

/// Every operator, for messages and suggestions.
const OPERATORS: [&str; 22] = [
    "get",
    "geometry-type",
    "has",
    "!has",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "!in",
    "all",
    "any",
    "none",
    "!",
    "match",
    "coalesce",
    "literal",
    "to-number",
    "to-string",
    "to-boolean",
];

/// Nesting deeper than this is refused (no expression needs it, and evaluation recurses).
const MAX_DEPTH: usize = 64;

/// The legacy key that means the geometry type.
const TYPE_KEY: &str = "$type";

impl Expr {
    /// Parses an expression written at key path `at` (which prefixes every error's position).
    pub fn parse(value: &Toml, at: &str) -> Result<Expr, ExprError> {
        Ok(Expr { node: node(value, at, 0)? })
    }

    /// Parses an expression that must give `want` where that is known before evaluation (a filter gives a
    /// boolean, `minzoom_by` a number); an expression that reads data (`get`) passes and is judged per feature.
    pub fn parse_as(value: &Toml, at: &str, want: Kind) -> Result<Expr, ExprError> {
        let expr = Expr::parse(value, at)?;
        expect(&expr.node, want, at)?;
        Ok(expr)
    }
}

fn error(at: &str, message: impl Into<String>) -> ExprError {
    ExprError { at: at.to_owned(), message: message.into() }
}

fn child(at: &str, index: usize) -> String {
    format!("{at}[{index}]")
}

fn node(value: &Toml, at: &str, depth: usize) -> Result<Node, ExprError> {
    if depth > MAX_DEPTH {
        return Err(error(at, format!("expressions nest at most {MAX_DEPTH} deep")));
    }
    match value {
        Toml::Array(items) => operation(items, at, depth),
        Toml::Table(_) => Err(error(
            at,
            "a table is not an expression (expected an array such as [\"get\", \"name\"], or a string, number or \
             boolean)",
        )),
        scalar => Ok(Node::Literal(literal(scalar, at)?)),
    }
}

fn literal(value: &Toml, at: &str) -> Result<Literal, ExprError> {
    match value {
        Toml::String(s) => Ok(Literal::String(s.as_str().into())),
        Toml::Integer(i) => Ok(Literal::Int(*i)),
        Toml::Float(f) if f.is_finite() => Ok(Literal::Float(*f)),
        Toml::Float(f) => Err(error(at, format!("{f} is not a finite number"))),
        Toml::Boolean(b) => Ok(Literal::Bool(*b)),
        Toml::Datetime(_) => Err(error(at, "a date is not a value expressions know")),
        Toml::Array(_) => Err(error(at, "expected a string, number or boolean, got an array")),
        Toml::Table(_) => Err(error(at, "expected a string, number or boolean, got a table")),
    }
}

fn operation(items: &[Toml], at: &str, depth: usize) -> Result<Node, ExprError> {
    let Some(first) = items.first() else {
        return Err(error(at, "an empty array is not an expression"));
    };
    let Toml::String(op) = first else {
        return Err(error(&child(at, 0), format!("expected an operator name (a string), got {}", describe(first))));
    };
    let args = &items[1..];
    let arg_at = |i: usize| child(at, i + 1);
    let arity = |min: usize, max: usize| -> Result<(), ExprError> {
        if (min..=max).contains(&args.len()) {
            return Ok(());
        }
        let wanted = match (min, max) {
            (min, max) if min == max => format!("{min}"),
            (min, usize::MAX) => format!("at least {min}"),
            (min, max) => format!("{min} to {max}"),
        };
        let plural = if max == 1 { "" } else { "s" };
        Err(error(at, format!("\"{op}\" takes {wanted} operand{plural}, got {}", args.len())))
    };
    let sub = |i: usize| node(&args[i], &arg_at(i), depth + 1);
    let boolean = |i: usize| -> Result<Node, ExprError> {
        let n = sub(i)?;
        expect(&n, Kind::Boolean, &arg_at(i))?;
        Ok(n)
    };
    let booleans = || (0..args.len()).map(boolean).collect::<Result<Box<[Node]>, _>>();
    let all_args = || (0..args.len()).map(sub).collect::<Result<Box<[Node]>, _>>();
    Ok(match op.as_str() {
        "get" => {
            arity(1, 1)?;
            Node::Get(key(&args[0], &arg_at(0))?.into())
        }
        "geometry-type" => {
            arity(0, 0)?;
            Node::GeometryType
        }
        "has" | "!has" => {
            arity(1, 1)?;
            let k = key(&args[0], &arg_at(0))?.into();
            if op == "has" { Node::Has(k) } else { Node::NotHas(k) }
        }
        "==" | "!=" | "<" | "<=" | ">" | ">=" => {
            arity(2, 2)?;
            let compare = match op.as_str() {
                "==" => Compare::Eq,
                "!=" => Compare::Ne,
                "<" => Compare::Lt,
                "<=" => Compare::Le,
                ">" => Compare::Gt,
                _ => Compare::Ge,
            };
            let left = operand(&args[0], &arg_at(0), depth)?;
            let right = node(&args[1], &arg_at(1), depth + 1)?;
            if left == Node::GeometryType
                && let Node::Literal(l) = &right
            {
                geometry_name(l, &arg_at(1))?;
            }
            Node::Compare(compare, Box::new(left), Box::new(right))
        }
        "in" | "!in" => in_list(op, args, at, depth)?,
        "all" => Node::All(booleans()?),
        "any" => Node::Any(booleans()?),
        "none" => Node::Not(Box::new(Node::Any(booleans()?))),
        "!" => {
            arity(1, 1)?;
            Node::Not(Box::new(boolean(0)?))
        }
        "match" => match_arms(args, at, depth)?,
        "coalesce" => {
            arity(1, usize::MAX)?;
            Node::Coalesce(all_args()?)
        }
        "literal" => {
            arity(1, 1)?;
            if let Toml::Array(_) = &args[0] {
                return Err(error(&arg_at(0), "a list is a value only as the list of \"in\""));
            }
            Node::Literal(literal(&args[0], &arg_at(0))?)
        }
        "to-number" => {
            arity(1, usize::MAX)?;
            Node::ToNumber(all_args()?)
        }
        "to-string" => {
            arity(1, 1)?;
            Node::ToString(Box::new(sub(0)?))
        }
        "to-boolean" => {
            arity(1, 1)?;
            Node::ToBoolean(Box::new(sub(0)?))
        }
        "zoom" => {
            return Err(error(
                &child(at, 0),
                "\"zoom\" is not available: a feature is read once for every zoom (use minzoom_by for a \
                 per-feature minimum zoom)",
            ));
        }
        other => {
            let hint = nearest(other).map(|near| format!(" (did you mean \"{near}\"?)")).unwrap_or_default();
            return Err(error(&child(at, 0), format!("unknown operator \"{other}\"{hint}")));
        }
    })
}

/// A property name: `get`, `has`, and the first operand of the legacy forms.
fn key<'a>(value: &'a Toml, at: &str) -> Result<&'a str, ExprError> {
    match value {
        Toml::String(s) => Ok(s),
        other => Err(error(at, format!("expected a property name (a string), got {}", describe(other)))),
    }
}

/// The first operand of a comparison or `in`: a bare string names a property (legacy filters; `"$type"` is
/// the geometry type), anything else is an expression.
fn operand(value: &Toml, at: &str, depth: usize) -> Result<Node, ExprError> {
    match value {
        Toml::String(s) if s == TYPE_KEY => Ok(Node::GeometryType),
        Toml::String(s) => Ok(Node::Get(s.as_str().into())),
        other => node(other, at, depth + 1),
    }
}

/// `["in", "key", v1, v2, …]` (legacy: a property name, then the values) or `["in", expression, [v1, v2, …]]`
/// (the list inline, or as `["literal", [v1, …]]`).
fn in_list(op: &str, args: &[Toml], at: &str, depth: usize) -> Result<Node, ExprError> {
    let negated = op == "!in";
    let arg_at = |i: usize| child(at, i + 1);
    let Some(first) = args.first() else {
        return Err(error(at, format!("\"{op}\" takes an input and the values to look for")));
    };
    let input = operand(first, &arg_at(0), depth)?;
    let values: Box<[Literal]> = if let Toml::String(_) = first {
        if args.len() < 2 {
            return Err(error(at, format!("\"{op}\" needs at least one value: [\"{op}\", \"key\", \"a\", \"b\"]")));
        }
        let scalar = |i: usize| match &args[i] {
            Toml::Array(_) => Err(error(
                &arg_at(i),
                format!(
                    "the legacy form lists the values one by one ([\"{op}\", \"key\", \"a\", \"b\"]); for a list write \
                     [\"{op}\", [\"get\", \"key\"], [\"a\", \"b\"]]"
                ),
            )),
            other => literal(other, &arg_at(i)),
        };
        (1..args.len()).map(scalar).collect::<Result<_, _>>()?
    } else {
        if args.len() != 2 {
            return Err(error(
                at,
                format!(
                    "\"{op}\" with an expression takes it and one list: [\"{op}\", [\"get\", \"key\"], [\"a\", \"b\"]], \
                     got {} operands",
                    args.len()
                ),
            ));
        }
        literal_list(&args[1], &arg_at(1))?
    };
    if input == Node::GeometryType {
        for (i, value) in values.iter().enumerate() {
            let at = if let Toml::String(_) = first { arg_at(i + 1) } else { child(&arg_at(1), i) };
            geometry_name(value, &at)?;
        }
    }
    Ok(Node::In { input: Box::new(input), values, negated })
}

fn literal_list(value: &Toml, at: &str) -> Result<Box<[Literal]>, ExprError> {
    let Toml::Array(items) = value else {
        return Err(error(at, format!("expected a list of values, got {}", describe(value))));
    };
    if let [Toml::String(op), Toml::Array(inner)] = items.as_slice()
        && op == "literal"
    {
        let at = child(at, 1);
        return inner.iter().enumerate().map(|(i, v)| literal(v, &child(&at, i))).collect();
    }
    if let Some(Toml::String(op)) = items.first()
        && OPERATORS.contains(&op.as_str())
    {
        return Err(error(
            at,
            format!(
                "the list of \"in\" holds values, not an expression (\"{op}\"); to list values starting with \"{op}\" \
                 write [\"literal\", [...]]"
            ),
        ));
    }
    items.iter().enumerate().map(|(i, v)| literal(v, &child(at, i))).collect()
}

/// `["match", input, labels, output, …, fallback]`.
fn match_arms(args: &[Toml], at: &str, depth: usize) -> Result<Node, ExprError> {
    if args.len() < 4 || !args.len().is_multiple_of(2) {
        return Err(error(
            at,
            format!(
                "\"match\" takes an input, pairs of label and output, and a fallback ([\"match\", input, label, \
                 output, …, fallback]), got {} operands",
                args.len()
            ),
        ));
    }
    let arg_at = |i: usize| child(at, i + 1);
    let input = node(&args[0], &arg_at(0), depth + 1)?;
    let mut arms = Vec::with_capacity(args.len() / 2 - 1);
    let mut seen: Vec<Literal> = Vec::new();
    for pair in (1..args.len() - 1).step_by(2) {
        let arm_labels = labels(&args[pair], &arg_at(pair))?;
        for label in &arm_labels {
            let same_kind = |a: &Literal| matches!(a, Literal::String(_)) == matches!(label, Literal::String(_));
            if seen.first().is_some_and(|first| !same_kind(first)) {
                return Err(error(&arg_at(pair), "the labels of one \"match\" are all strings or all numbers"));
            }
            if seen.iter().any(|s| super::eval::literals_equal(s, label)) {
                return Err(error(&arg_at(pair), format!("label {} is used twice", show(label))));
            }
            seen.push(label.clone());
        }
        arms.push((arm_labels, node(&args[pair + 1], &arg_at(pair + 1), depth + 1)?));
    }
    let fallback = node(&args[args.len() - 1], &arg_at(args.len() - 1), depth + 1)?;
    Ok(Node::Match { input: Box::new(input), arms: arms.into(), fallback: Box::new(fallback) })
}

/// One label (a string or a number) or a non-empty list of them.
fn labels(value: &Toml, at: &str) -> Result<Box<[Literal]>, ExprError> {
    let one = |v: &Toml, at: &str| match literal(v, at) {
        Ok(Literal::Bool(_)) | Err(_) => Err(error(at, "a label is a string or a number, or a list of them")),
        ok => ok,
    };
    match value {
        Toml::Array(items) if items.is_empty() => Err(error(at, "a list of labels needs at least one")),
        Toml::Array(items) => items.iter().enumerate().map(|(i, v)| one(v, &child(at, i))).collect(),
        other => Ok(Box::new([one(other, at)?])),
    }
}

/// A literal compared with the geometry type must be one of its names.
fn geometry_name(value: &Literal, at: &str) -> Result<(), ExprError> {
    match value {
        Literal::String(s) if matches!(&**s, "Point" | "LineString" | "Polygon") => Ok(()),
        other => Err(error(
            at,
            format!(
                "the geometry type is \"Point\", \"LineString\" or \"Polygon\" (multi-geometries count as the single \
                 type), not {}",
                show(other)
            ),
        )),
    }
}

/// Checks that `node` gives `want` where that is known, naming the innermost position at fault (a `match`
/// output, a `coalesce` operand).
fn expect(node: &Node, want: Kind, at: &str) -> Result<(), ExprError> {
    if want == Kind::Any {
        return Ok(());
    }
    match node {
        Node::Match { arms, fallback, .. } => {
            for (i, (_, output)) in arms.iter().enumerate() {
                expect(output, want, &child(at, 3 + 2 * i))?;
            }
            expect(fallback, want, &child(at, 2 + 2 * arms.len()))
        }
        Node::Coalesce(args) => args.iter().enumerate().try_for_each(|(i, a)| expect(a, want, &child(at, i + 1))),
        other => match other.kind() {
            Kind::Any => Ok(()),
            got if got == want => Ok(()),
            got => Err(error(at, format!("expected {}, got {}", want.name(), got.name()))),
        },
    }
}

fn describe(value: &Toml) -> &'static str {
    match value {
        Toml::String(_) => "a string",
        Toml::Integer(_) | Toml::Float(_) => "a number",
        Toml::Boolean(_) => "a boolean",
        Toml::Datetime(_) => "a date",
        Toml::Array(_) => "an array",
        Toml::Table(_) => "a table",
    }
}

fn show(value: &Literal) -> String {
    match value {
        Literal::String(s) => format!("\"{s}\""),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => f.to_string(),
        Literal::Bool(b) => b.to_string(),
    }
}

/// The known operator nearest to an unknown one (at most 2 edits away), for "did you mean".
fn nearest(name: &str) -> Option<&'static str> {
    match name {
        "=" => return Some("=="),
        "not" => return Some("!"),
        "and" => return Some("all"),
        "or" => return Some("any"),
        _ => {}
    }
    OPERATORS
        .iter()
        .map(|op| (edit_distance(name, op), *op))
        .filter(|(d, _)| *d <= 2 && *d < name.chars().count())
        .min()
        .map(|(_, op)| op)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}
