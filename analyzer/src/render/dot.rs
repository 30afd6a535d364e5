//! DOT (Graphviz), through petgraph's DOT output: each finding as a graph of threads
//! (boxes) and resources (ellipses). A thread's wait is an edge to the resource (red on
//! the cycle); a lock's holder is an edge from the lock; what else a wait needs (the
//! thread that must reach a barrier, run a job, send) is a dashed edge from the
//! resource. Threads stuck behind the cycle are folded into one node per group. Labels
//! are escaped by petgraph; `dot -Tsvg` draws it.

use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use waitgraph_core::report::{Finding, Report, Severity};

enum Node {
    /// A finding's title, placed above its graph.
    Title(String),
    Thread(String),
    Resource {
        name: String,
        kind: String,
    },
    /// Threads folded into one node: how many, and the first few names.
    Threads(String),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Ended by a line break: Graphviz then left-justifies every line of it.
            Node::Title(text) => writeln!(f, "{text}"),
            Node::Thread(text) | Node::Threads(text) => f.write_str(text),
            Node::Resource { name, kind } => write!(f, "{name}\n({kind})"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A wait of a thread on the cycle.
    CycleWait,
    /// A lock held by a thread on the cycle.
    Holds,
    /// What a non-lock wait needs of the next thread.
    Needs,
    /// The wait of threads stuck behind the cycle.
    OtherWait,
    /// Keeps a title beside its graph; not drawn.
    Invisible,
}

struct Edge {
    label: String,
    role: Role,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut graph: DiGraph<Node, Edge> = DiGraph::new();
    for finding in &report.findings {
        add_finding(&mut graph, finding);
    }
    let edge_style = |_, edge: petgraph::graph::EdgeReference<'_, Edge>| {
        match edge.weight().role {
            Role::CycleWait => "color = \"#c0392b\", fontcolor = \"#c0392b\", penwidth = 2",
            Role::Holds => "color = \"#1f4e79\", fontcolor = \"#1f4e79\"",
            Role::Needs => "style = dashed",
            Role::OtherWait => "color = gray50, fontcolor = gray40",
            Role::Invisible => "style = invis",
        }
        .to_string()
    };
    let node_style = |_, (_, node): (NodeIndex, &Node)| {
        match node {
            Node::Title(_) => "shape = plaintext, fontsize = 16",
            Node::Thread(_) => "shape = box, style = rounded",
            Node::Resource { .. } => "shape = ellipse",
            Node::Threads(_) => "shape = box, style = \"rounded,dashed\", fontcolor = gray30",
        }
        .to_string()
    };
    let dot = Dot::with_attr_getters(
        &graph,
        &[Config::GraphContentOnly],
        &edge_style,
        &node_style,
    );
    writeln!(out, "digraph waitgraph {{")?;
    writeln!(out, "    rankdir = LR")?;
    writeln!(out, "    node [fontname = \"Helvetica\"]")?;
    writeln!(out, "    edge [fontname = \"Helvetica\", fontsize = 10]")?;
    write!(out, "{dot}")?;
    writeln!(out, "}}")
}

/// Characters per line of a finding's title.
const TITLE_WIDTH: usize = 72;

/// `text` broken at spaces into lines of at most `width` characters (a longer word
/// stands alone).
fn wrap(text: &str, width: usize) -> String {
    let mut wrapped = String::with_capacity(text.len());
    let mut line = 0;
    for word in text.split(' ') {
        let length = word.chars().count();
        if line > 0 && line + 1 + length > width {
            wrapped.push('\n');
            line = 0;
        } else if line > 0 {
            wrapped.push(' ');
            line += 1;
        }
        wrapped.push_str(word);
        line += length;
    }
    wrapped
}

/// Adds one finding's nodes (its own: a thread in two findings is drawn twice) and edges.
fn add_finding(graph: &mut DiGraph<Node, Edge>, finding: &Finding) {
    let level = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let title = graph.add_node(Node::Title(wrap(
        &format!("{level}[{}]: {}", finding.kind.as_str(), finding.summary),
        TITLE_WIDTH,
    )));
    let mut threads: HashMap<String, NodeIndex> = HashMap::new();
    let mut resources: HashMap<String, NodeIndex> = HashMap::new();
    let mut thread = |graph: &mut DiGraph<Node, Edge>, name: &str| -> NodeIndex {
        *threads
            .entry(name.to_owned())
            .or_insert_with(|| graph.add_node(Node::Thread(name.to_owned())))
    };
    for step in &finding.cycle {
        thread(graph, &step.thread);
    }
    let mut resource = |graph: &mut DiGraph<Node, Edge>, name: &str, kind: &str| -> NodeIndex {
        *resources.entry(name.to_owned()).or_insert_with(|| {
            graph.add_node(Node::Resource {
                name: name.to_owned(),
                kind: kind.to_owned(),
            })
        })
    };
    if let Some(first) = finding.cycle.first() {
        let first = thread(graph, &first.thread);
        graph.add_edge(
            title,
            first,
            Edge {
                label: String::new(),
                role: Role::Invisible,
            },
        );
    }
    let cycle = &finding.cycle;
    for (index, step) in cycle.iter().enumerate() {
        let waiter = thread(graph, &step.thread);
        let waited = resource(graph, &step.waits_for.resource, &step.waits_for.kind);
        graph.add_edge(
            waiter,
            waited,
            Edge {
                label: step.waits_for.wait.clone(),
                role: Role::CycleWait,
            },
        );
        for held in &step.holds {
            // Its kind as a step waiting for it says, if one does.
            let kind = cycle
                .iter()
                .map(|s| &s.waits_for)
                .find(|w| w.resource == held.resource)
                .map_or("lock", |w| w.kind.as_str());
            let lock = resource(graph, &held.resource, kind);
            graph.add_edge(
                lock,
                waiter,
                Edge {
                    label: format!("held ({})", held.mode),
                    role: Role::Holds,
                },
            );
        }
        // What the wait needs of the next thread, unless it is a lock the next holds.
        let next = &cycle[(index + 1) % cycle.len()];
        let held_by_next = next
            .holds
            .iter()
            .any(|held| held.resource == step.waits_for.resource);
        if cycle.len() > 1 && !held_by_next && step.blocked_by.contains(&next.thread) {
            let next = thread(graph, &next.thread);
            graph.add_edge(
                waited,
                next,
                Edge {
                    label: "needs".to_owned(),
                    role: Role::Needs,
                },
            );
        }
    }
    for group in finding.others() {
        let mut names: Vec<String> = group
            .threads
            .iter()
            .take(3)
            .map(|t| (*t).to_owned())
            .collect();
        if group.threads.len() > 3 {
            names.push(format!("and {} more", group.threads.len() - 3));
        }
        let label = if group.threads.len() == 1 {
            format!("{}\n{}", group.role, names.join(""))
        } else {
            format!(
                "{}: {} threads\n{}",
                group.role,
                group.threads.len(),
                names.join(", ")
            )
        };
        let folded = graph.add_node(Node::Threads(label));
        let kind = finding
            .also_deadlocked
            .iter()
            .chain(&finding.victims)
            .map(|s| &s.waits_for)
            .find(|w| w.resource == group.resource)
            .map_or("resource", |w| w.kind.as_str());
        let waited = resource(graph, group.resource, kind);
        graph.add_edge(
            folded,
            waited,
            Edge {
                label: group.wait.to_owned(),
                role: Role::OtherWait,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn titles_wrap_at_spaces() {
        assert_eq!(wrap("aaa bbb ccc", 7), "aaa bbb\nccc");
        assert_eq!(wrap("aaaaaaaaaa b", 4), "aaaaaaaaaa\nb");
        assert_eq!(wrap("", 4), "");
    }
}
