//! Scripts run once against one node and once through Miroir, compared step by step.

use std::fmt::Display;

/// Panics naming every step whose outcome differs, and when one run took steps the
/// other did not (a script that stopped early must not pass for a shorter match).
pub fn assert_same_outcomes<'a, T: PartialEq + Display + 'a>(
    one_node: impl IntoIterator<Item = &'a (String, T)>,
    through_miroir: impl IntoIterator<Item = &'a (String, T)>,
) {
    let (one_node, through_miroir): (Vec<_>, Vec<_>) = (one_node.into_iter().collect(), through_miroir.into_iter().collect());
    let mut differences: Vec<String> = one_node
        .iter()
        .zip(&through_miroir)
        .filter(|(a, b)| a != b)
        .map(|((step, one), (_, miroir))| format!("{step}:\n  one node: {one}\n  Miroir:   {miroir}"))
        .collect();
    if one_node.len() != through_miroir.len() {
        differences.push(format!("one node took {} steps, Miroir {}", one_node.len(), through_miroir.len()));
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
