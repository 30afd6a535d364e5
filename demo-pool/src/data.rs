//! Documents, queries, and the oracle every reply is checked against.

use std::collections::{BTreeMap, BTreeSet};

/// A document: what the keyspace (under the gil) stores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub id: u32,
    pub title: String,
    pub tags: Vec<String>,
    pub score: u32,
}

/// The words documents are tagged with; queries ask for one of them.
pub const TAGS: [&str; 8] = [
    "red", "green", "blue", "cyan", "amber", "olive", "plum", "teal",
];

/// `count` documents, the same every run.
pub fn documents(count: usize) -> Vec<Document> {
    (0..count as u32)
        .map(|id| {
            let tags = TAGS
                .iter()
                .enumerate()
                .filter(|(i, _)| (id as usize + i).is_multiple_of(i + 2))
                .map(|(_, tag)| tag.to_string())
                .collect();
            Document {
                id,
                title: format!("document {id}"),
                tags,
                score: (id * 37) % 101,
            }
        })
        .collect()
}

/// What a client asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub tag: String,
    /// A search returns ids; an aggregation counts and sums scores.
    pub aggregate: bool,
    /// Loads document fields from the keyspace (takes the gil). NOCONTENT searches do not.
    pub load_fields: bool,
}

/// What a shard answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Ids(Vec<u32>),
    Titles(Vec<String>),
    Aggregate { count: usize, score_sum: u64 },
}

/// The index ("spec"): tag -> document ids.
#[derive(Debug, Default)]
pub struct Index {
    pub by_tag: BTreeMap<String, BTreeSet<u32>>,
}

impl Index {
    pub fn build(documents: &[Document]) -> Index {
        let mut by_tag: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for document in documents {
            for tag in &document.tags {
                by_tag.entry(tag.clone()).or_default().insert(document.id);
            }
        }
        Index { by_tag }
    }

    pub fn matches(&self, tag: &str) -> Vec<u32> {
        self.by_tag
            .get(tag)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// Answers a query from the matches and the documents (the keyspace).
pub fn answer(query: &Query, matches: &[u32], keyspace: &BTreeMap<u32, Document>) -> Answer {
    if query.aggregate {
        let score_sum = matches
            .iter()
            .filter_map(|id| keyspace.get(id))
            .map(|d| d.score as u64)
            .sum();
        Answer::Aggregate {
            count: matches.len(),
            score_sum,
        }
    } else if query.load_fields {
        Answer::Titles(
            matches
                .iter()
                .filter_map(|id| keyspace.get(id))
                .map(|d| d.title.clone())
                .collect(),
        )
    } else {
        Answer::Ids(matches.to_vec())
    }
}

/// The expected answer, computed from the documents alone.
pub fn oracle(query: &Query, documents: &[Document]) -> Answer {
    let keyspace: BTreeMap<u32, Document> = documents.iter().map(|d| (d.id, d.clone())).collect();
    let matches: Vec<u32> = documents
        .iter()
        .filter(|d| d.tags.contains(&query.tag))
        .map(|d| d.id)
        .collect();
    answer(query, &matches, &keyspace)
}

/// Merges the answers of several shards (each holds a slice of the documents).
pub fn merge(answers: Vec<Answer>) -> Option<Answer> {
    let mut answers = answers.into_iter();
    let mut merged = answers.next()?;
    for next in answers {
        merged = match (merged, next) {
            (Answer::Ids(mut a), Answer::Ids(b)) => {
                a.extend(b);
                a.sort_unstable();
                Answer::Ids(a)
            }
            (Answer::Titles(mut a), Answer::Titles(b)) => {
                a.extend(b);
                Answer::Titles(a)
            }
            (
                Answer::Aggregate {
                    count: c1,
                    score_sum: s1,
                },
                Answer::Aggregate {
                    count: c2,
                    score_sum: s2,
                },
            ) => Answer::Aggregate {
                count: c1 + c2,
                score_sum: s1 + s2,
            },
            _ => return None,
        };
    }
    Some(merged)
}

/// Normalises an answer for comparison (titles from several shards come in shard order).
pub fn normalised(answer: &Answer) -> Answer {
    match answer {
        Answer::Titles(titles) => {
            let mut titles = titles.clone();
            titles.sort();
            Answer::Titles(titles)
        }
        other => other.clone(),
    }
}

/// The mix of queries clients send: every tag, searches and aggregations, with and
/// without loading fields (`loading` false: only NOCONTENT searches).
pub fn query_mix(loading: bool) -> Vec<Query> {
    let mut queries = Vec::new();
    for tag in TAGS {
        queries.push(Query {
            tag: tag.to_string(),
            aggregate: false,
            load_fields: false,
        });
        if loading {
            queries.push(Query {
                tag: tag.to_string(),
                aggregate: false,
                load_fields: true,
            });
            queries.push(Query {
                tag: tag.to_string(),
                aggregate: true,
                load_fields: true,
            });
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_answers_what_the_oracle_expects() {
        let docs = documents(300);
        let index = Index::build(&docs);
        let keyspace: BTreeMap<u32, Document> = docs.iter().map(|d| (d.id, d.clone())).collect();
        for query in query_mix(true) {
            let got = answer(&query, &index.matches(&query.tag), &keyspace);
            assert_eq!(got, oracle(&query, &docs), "{query:?}");
        }
        // Every tag matches something, and not everything.
        for tag in TAGS {
            let n = index.matches(tag).len();
            assert!(n > 0 && n < 300, "{tag}: {n}");
        }
    }

    #[test]
    fn merged_shard_answers_equal_the_whole() {
        let docs = documents(100);
        let (left, right): (Vec<Document>, Vec<Document>) =
            docs.iter().cloned().partition(|d| d.id % 2 == 0);
        for query in query_mix(true) {
            let merged = merge(vec![oracle(&query, &left), oracle(&query, &right)]).unwrap();
            assert_eq!(normalised(&merged), normalised(&oracle(&query, &docs)));
        }
    }
}
