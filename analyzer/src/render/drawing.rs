//! A finding's cycle drawn in SVG, laid out without Graphviz: the cycle's threads and the
//! resources they wait for alternate around a circle (thread, what it waits for, the next
//! thread...), so the cycle reads clockwise; locks held but not on the cycle and the
//! folded groups of other threads sit on an outer ring beside what they touch.
//!
//! Cost: O(n) nodes and edges for a cycle of n steps and g groups; nothing is searched.

use super::html::escape;
use std::fmt::Write as _;
use waitgraph_core::report::{Finding, FindingKind};

/// Characters shown in a node; a longer name is cut (the full name is its tooltip).
const SHOWN: usize = 26;
/// Width of a character, roughly, at the drawing's font size.
const CHAR: f64 = 7.0;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Thread,
    Resource,
    Group,
}

struct Node {
    label: String,
    detail: Option<String>,
    shape: Shape,
    x: f64,
    y: f64,
}

impl Node {
    fn half_size(&self) -> (f64, f64) {
        let longest = self.label.chars().count().min(SHOWN).max(
            self.detail
                .as_ref()
                .map_or(0, |d| d.chars().count().min(SHOWN)),
        );
        let w = longest as f64 * CHAR / 2.0 + 14.0;
        let h = if self.detail.is_some() { 22.0 } else { 15.0 };
        (w, h)
    }

    /// Where the line from the centre toward `(x, y)` leaves the node (its ellipse).
    fn border_toward(&self, x: f64, y: f64) -> (f64, f64) {
        let (w, h) = self.half_size();
        let (dx, dy) = (x - self.x, y - self.y);
        let length = (dx * dx / (w * w) + dy * dy / (h * h)).sqrt();
        if length == 0.0 {
            return (self.x, self.y);
        }
        (self.x + dx / length, self.y + dy / length)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Wait,
    Hold,
    Needs,
    Other,
}

struct Edge {
    from: usize,
    to: usize,
    label: String,
    style: Style,
}

fn cut(text: &str) -> String {
    if text.chars().count() <= SHOWN {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(SHOWN - 1).collect();
        cut.push('…');
        cut
    }
}

/// The SVG drawing of `finding`'s cycle (an inline `<svg>` element).
pub fn svg(finding: &Finding) -> String {
    let cycle = &finding.cycle;
    let mut nodes: Vec<Node> = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let around = (cycle.len() * 2).max(2);
    let radius = (around as f64 * 48.0).max(110.0);
    let outer = radius + 150.0;
    let centre = outer + 120.0;
    let place = |slot: f64, of: f64, r: f64| {
        // Clockwise from the top.
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * slot / of;
        (centre + r * angle.cos(), centre + r * angle.sin())
    };
    // The cycle: thread i at slot 2i, what it waits for at 2i + 1.
    let mut resource_at: Vec<(String, usize)> = Vec::new();
    for (i, step) in cycle.iter().enumerate() {
        let (x, y) = place(2.0 * i as f64, around as f64, radius);
        nodes.push(Node {
            label: step.thread.clone(),
            detail: None,
            shape: Shape::Thread,
            x,
            y,
        });
        let (x, y) = place(2.0 * i as f64 + 1.0, around as f64, radius);
        let waited = &step.waits_for.resource;
        nodes.push(Node {
            label: waited.clone(),
            detail: Some(step.waits_for.kind.clone()),
            shape: Shape::Resource,
            x,
            y,
        });
        resource_at.push((waited.clone(), 2 * i + 1));
    }
    for (i, step) in cycle.iter().enumerate() {
        let thread = 2 * i;
        let waited = 2 * i + 1;
        edges.push(Edge {
            from: thread,
            to: waited,
            label: step.waits_for.wait.clone(),
            style: Style::Wait,
        });
        let next = (i + 1) % cycle.len();
        let held_by_next = cycle[next]
            .holds
            .iter()
            .find(|h| h.resource == step.waits_for.resource);
        if let Some(held) = held_by_next {
            edges.push(Edge {
                from: waited,
                to: 2 * next,
                label: format!("held ({})", held.mode),
                style: Style::Hold,
            });
        } else if cycle.len() > 1
            && finding.kind != FindingKind::Stall
            && step.blocked_by.contains(&cycle[next].thread)
        {
            edges.push(Edge {
                from: waited,
                to: 2 * next,
                label: "needs".to_owned(),
                style: Style::Needs,
            });
        }
        // Locks it holds that are not what the previous step waits for: outside.
        let previous = &cycle[(i + cycle.len() - 1) % cycle.len()];
        for held in &step.holds {
            if cycle.len() > 1 && held.resource == previous.waits_for.resource {
                continue;
            }
            let at = match resource_at.iter().find(|(name, _)| *name == held.resource) {
                Some((_, at)) => *at,
                None => {
                    let (x, y) = place(2.0 * i as f64 - 0.45, around as f64, outer);
                    nodes.push(Node {
                        label: held.resource.clone(),
                        detail: Some("lock".to_owned()),
                        shape: Shape::Resource,
                        x,
                        y,
                    });
                    resource_at.push((held.resource.clone(), nodes.len() - 1));
                    nodes.len() - 1
                }
            };
            edges.push(Edge {
                from: at,
                to: thread,
                label: format!("held ({})", held.mode),
                style: Style::Hold,
            });
        }
    }
    // The others, folded: one box per group, beside what they wait for.
    for (g, group) in finding.others().iter().enumerate() {
        let target = match resource_at.iter().find(|(name, _)| name == group.resource) {
            Some((_, at)) => *at,
            None => {
                let (x, y) = place(2.0 * g as f64 + 0.5, around as f64, outer);
                nodes.push(Node {
                    label: group.resource.to_owned(),
                    detail: None,
                    shape: Shape::Resource,
                    x,
                    y,
                });
                resource_at.push((group.resource.to_owned(), nodes.len() - 1));
                nodes.len() - 1
            }
        };
        // On the outer ring, in line with the resource, spread when several share it.
        let (tx, ty) = (nodes[target].x - centre, nodes[target].y - centre);
        let angle = ty.atan2(tx) + 0.35 * g as f64;
        let who = if group.threads.len() == 1 {
            group.threads[0].to_owned()
        } else {
            format!("{} threads", group.threads.len())
        };
        nodes.push(Node {
            label: who,
            detail: Some(group.role.to_owned()),
            shape: Shape::Group,
            x: centre + (outer + 40.0) * angle.cos(),
            y: centre + (outer + 40.0) * angle.sin(),
        });
        edges.push(Edge {
            from: nodes.len() - 1,
            to: target,
            label: group.wait.to_owned(),
            style: Style::Other,
        });
    }
    draw(&nodes, &edges, 2.0 * centre)
}

fn draw(nodes: &[Node], edges: &[Edge], size: f64) -> String {
    // Fit the box to what was placed.
    let (mut left, mut top, mut right, mut bottom) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for node in nodes {
        let (w, h) = node.half_size();
        left = left.min(node.x - w);
        right = right.max(node.x + w);
        top = top.min(node.y - h);
        bottom = bottom.max(node.y + h);
    }
    if nodes.is_empty() {
        (left, top, right, bottom) = (0.0, 0.0, size, size);
    }
    let margin = 40.0;
    let (left, top) = (left - margin, top - margin);
    let (width, height) = (right - left + margin, bottom - top + margin);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"cycle\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{left:.0} {top:.0} {width:.0} {height:.0}\" width=\"{width:.0}\" role=\"img\" aria-label=\"the cycle of waits\">"
    );
    svg.push_str(
        "<defs>\
         <marker id=\"arrow-wait\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c0392b\"/></marker>\
         <marker id=\"arrow-hold\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f4e79\"/></marker>\
         <marker id=\"arrow-other\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#777\"/></marker>\
         </defs>\n",
    );
    for edge in edges {
        let (from, to) = (&nodes[edge.from], &nodes[edge.to]);
        let (x1, y1) = from.border_toward(to.x, to.y);
        let (x2, y2) = to.border_toward(from.x, from.y);
        let (stroke, marker, extra) = match edge.style {
            Style::Wait => ("#c0392b", "arrow-wait", " stroke-width=\"2.2\""),
            Style::Hold => ("#1f4e79", "arrow-hold", " stroke-width=\"1.6\""),
            Style::Needs => ("#333", "arrow-other", " stroke-dasharray=\"6 4\""),
            Style::Other => ("#999", "arrow-other", ""),
        };
        let class = match edge.style {
            Style::Wait => "wait",
            Style::Hold => "hold",
            Style::Needs => "needs",
            Style::Other => "other",
        };
        let _ = writeln!(
            svg,
            "<g class=\"edge {class}\"><line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\"{extra} marker-end=\"url(#{marker})\"/><text class=\"edge-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{stroke}\">{}</text></g>",
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 4.0,
            escape(&edge.label)
        );
    }
    for node in nodes {
        let (w, h) = node.half_size();
        let (x, y) = (node.x, node.y);
        let shape = match node.shape {
            Shape::Thread => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#fff\" stroke=\"#333\" stroke-width=\"1.5\"/>",
                x - w, y - h, 2.0 * w, 2.0 * h
            ),
            Shape::Resource => format!(
                "<ellipse cx=\"{x:.1}\" cy=\"{y:.1}\" rx=\"{w:.1}\" ry=\"{h:.1}\" fill=\"#f4f7fb\" stroke=\"#1f4e79\" stroke-width=\"1.3\"/>"
            ),
            Shape::Group => format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#fafafa\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>",
                x - w, y - h, 2.0 * w, 2.0 * h
            ),
        };
        let class = match node.shape {
            Shape::Thread => "thread",
            Shape::Resource => "resource",
            Shape::Group => "group",
        };
        let text = match &node.detail {
            Some(detail) => format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\" font-size=\"11\">{}</text>",
                y - 2.0,
                escape(&cut(&node.label)),
                y + 13.0,
                escape(&cut(detail))
            ),
            None => format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                y + 4.0,
                escape(&cut(&node.label))
            ),
        };
        let _ = writeln!(
            svg,
            "<g class=\"node {class}\"><title>{}</title>{shape}{text}</g>",
            escape(&node.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}
