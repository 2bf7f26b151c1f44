//! The expression keys of a layer: `filter`, `minzoom_by` and the table form of `properties` (see `crate::expr`).
//!
//! Each check returns the key at fault (with the position inside the expression) and the message, for
//! [`super::ConfigError::Invalid`].

use crate::expr::{Expr, ExprError, Kind};

/// Which properties a layer's features carry into its tiles.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OutputProperties {
    /// Every property of the source, as it is.
    #[default]
    All,
    /// Only these names (in the source's order); an empty list keeps none.
    Keep(Vec<String>),
    /// Each output property computed by its expression, in the order of the names (sorted); a null result
    /// leaves the property out of that feature.
    Computed(Vec<(String, Expr)>),
}

type Invalid = (String, String);

fn invalid(err: ExprError) -> Invalid {
    (err.at, err.message)
}

/// `filter`: an expression that gives a boolean where that is known.
pub fn check_filter(value: Option<&toml::Value>, key: &str) -> Result<Option<Expr>, Invalid> {
    value.map(|v| Expr::parse_as(v, key, Kind::Boolean).map_err(invalid)).transpose()
}

/// `minzoom_by`: an expression that gives a number where that is known.
pub fn check_minzoom_by(value: Option<&toml::Value>, key: &str) -> Result<Option<Expr>, Invalid> {
    value.map(|v| Expr::parse_as(v, key, Kind::Number).map_err(invalid)).transpose()
}

/// `properties`: a list of names to keep, or a table of `name = expression`.
pub fn check_properties(value: Option<&toml::Value>, key: &str) -> Result<OutputProperties, Invalid> {
    match value {
        None => Ok(OutputProperties::All),
        Some(toml::Value::Array(names)) => names
            .iter()
            .enumerate()
            .map(|(i, name)| match name {
                toml::Value::String(s) => Ok(s.clone()),
                _ => Err((format!("{key}[{i}]"), "expected a property name (a string)".to_owned())),
            })
            .collect::<Result<_, _>>()
            .map(OutputProperties::Keep),
        Some(toml::Value::Table(table)) => {
            let mut computed = Vec::with_capacity(table.len());
            for (name, expression) in table {
                let at = format!("{key}.{name}");
                if name.is_empty() || name.len() > 255 {
                    return Err((at, "a property name has 1 to 255 characters".to_owned()));
                }
                computed.push((name.clone(), Expr::parse(expression, &at).map_err(invalid)?));
            }
            computed.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(OutputProperties::Computed(computed))
        }
        Some(_) => Err((
            key.to_owned(),
            "expected a list of property names to keep, or a table of name = expression (e.g. \
             { class = [\"get\", \"highway\"] })"
                .to_owned(),
        )),
    }
}
