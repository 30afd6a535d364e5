//! The prediction of a recorded run, in the demo: its trace (JSON lines, which the demo's
//! own recorder wrote) fed to the prediction engine, as `waitgraph analyze` does (that
//! command reads every format, with precise errors; this reads the demo's own traces).

use std::io::{self, BufRead};
use std::path::Path;
use waitgraph::model::TraceLine;
use waitgraph::predict::{Prediction, Predictor};

/// Predicts from the trace at `path`. A line that does not parse (the last one, cut by
/// a process that died) ends the reading; everything before it is analysed.
pub fn predict(path: &Path) -> io::Result<Prediction> {
    let file = io::BufReader::new(std::fs::File::open(path)?);
    let mut predictor = Predictor::default();
    for line in file.lines() {
        match serde_json::from_str::<TraceLine>(&line?) {
            Ok(line) => predictor.feed(line),
            Err(_) => {
                predictor.mark_truncated();
                break;
            }
        }
    }
    Ok(predictor.finish())
}
