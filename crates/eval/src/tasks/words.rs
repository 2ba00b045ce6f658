//! RULER's aggregation tasks: common-word extraction (a numbered list where 10 words appear
//! 30 times and the rest 3 times) and frequent-word extraction (coded words drawn from a Zipf
//! distribution; name the 3 most frequent). Common words come from the haystack's vocabulary;
//! coded words are random letter strings.

use std::collections::HashMap;

use super::prompt::{Prompt, PromptBuilder};
use super::{Haystack, Rng, TaskSample};
use crate::{Error, Result};

const CWE_COMMON: usize = 10;
const CWE_FREQ_COMMON: usize = 30;
const CWE_FREQ_RARE: usize = 3;
const FWE_VOCAB: usize = 500;
const FWE_ALPHA: f64 = 2.0;

fn check_budget(length: usize, fixed: usize) -> Result<usize> {
    if fixed + 64 > length {
        return Err(Error::Config(format!(
            "length {length} leaves no room for the word list ({fixed} fixed tokens)"
        )));
    }
    Ok(length - fixed)
}

/// Common-word extraction.
pub fn cwe(
    pb: &PromptBuilder<'_>,
    hay: &Haystack,
    seed: u64,
    length: usize,
    sample: usize,
) -> Result<TaskSample> {
    let mut rng = Rng::derive(
        seed,
        &["ruler", "cwe", &length.to_string(), &sample.to_string()],
    );
    let mut pool = hay.vocabulary();
    rng.shuffle(&mut pool);
    let instruction = "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n";
    let question = "Question: What are the 10 most common words in the above list?";
    let prefix = "Answer: The top 10 words that appear most often in the list are:";
    let p: Prompt = pb.start(instruction)?;
    let budget = check_budget(length, p.tokens.len() + pb.tail_tokens(question, prefix)?)?;
    if pool.len() < CWE_COMMON + 10 {
        return Err(Error::Config(format!(
            "haystack {} has too small a vocabulary for cwe",
            hay.name
        )));
    }
    let (common, rare) = pool.split_at(CWE_COMMON);
    // Enough rare words to overfill any budget (~4 tokens per entry), then cut to the budget.
    let n_rare = (budget / (4 * CWE_FREQ_RARE) + 16).min(rare.len());
    let mut list: Vec<&str> = Vec::new();
    for w in common {
        list.extend(std::iter::repeat_n(w.as_str(), CWE_FREQ_COMMON));
    }
    for w in &rare[..n_rare] {
        list.extend(std::iter::repeat_n(w.as_str(), CWE_FREQ_RARE));
    }
    rng.shuffle(&mut list);
    let mut p = p;
    let mut used = 0;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (i, w) in list.iter().enumerate() {
        let entry = format!("{}. {w}\n", i + 1);
        let t = pb.encode(&entry)?;
        if used + t.len() > budget {
            break;
        }
        used += t.len();
        p.push(&entry, &t);
        *counts.entry(w).or_default() += 1;
    }
    let min_common = common
        .iter()
        .map(|w| counts.get(w.as_str()).copied().unwrap_or(0))
        .min()
        .unwrap_or(0);
    let max_rare = rare
        .iter()
        .map(|w| counts.get(w.as_str()).copied().unwrap_or(0))
        .max()
        .unwrap_or(0);
    if min_common <= max_rare {
        return Err(Error::Config(format!("length {length} is too short for cwe: the common words are not more frequent than the rest")));
    }
    let p = pb.finish(p, question, prefix)?;
    Ok(TaskSample {
        task: "ruler/cwe".into(),
        length,
        depth: None,
        sample,
        text: p.text,
        tokens: p.tokens,
        expected: common.to_vec(),
        max_new: 120,
    })
}

/// Frequent-word extraction.
pub fn fwe(
    pb: &PromptBuilder<'_>,
    _hay: &Haystack,
    seed: u64,
    length: usize,
    sample: usize,
) -> Result<TaskSample> {
    let mut rng = Rng::derive(
        seed,
        &["ruler", "fwe", &length.to_string(), &sample.to_string()],
    );
    let mut vocab: Vec<String> = Vec::new();
    while vocab.len() < FWE_VOCAB {
        let n = 4 + rng.below(3);
        let w: String = (0..n)
            .map(|_| (b'a' + rng.below(26) as u8) as char)
            .collect();
        if !vocab.contains(&w) {
            vocab.push(w);
        }
    }
    let instruction = "Read the following coded text and track the frequency of each coded word. Find the three most frequently appeared coded words. ";
    let question = "Question: Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently appeared words in the above coded text?";
    let prefix =
        "Answer: According to the coded text above, the three most frequently appeared words are:";
    let mut p = pb.start(instruction)?;
    let budget = check_budget(length, p.tokens.len() + pb.tail_tokens(question, prefix)?)?;
    let toks: Vec<Vec<u32>> = vocab
        .iter()
        .map(|w| pb.encode(&format!(" {w}")))
        .collect::<Result<_>>()?;
    let dots = pb.encode(" ....")?;
    let weights: Vec<f64> = (1..=FWE_VOCAB)
        .map(|r| 1.0 / (r as f64).powf(FWE_ALPHA))
        .collect();
    let z: f64 = weights.iter().sum();
    let mut counts = vec![0usize; FWE_VOCAB];
    let mut used = 0;
    loop {
        let mut u = rng.unit() * z;
        let mut r = 0;
        while r + 1 < FWE_VOCAB && u >= weights[r] {
            u -= weights[r];
            r += 1;
        }
        let dot = rng.below(8) == 0;
        let need = toks[r].len() + if dot { dots.len() } else { 0 };
        if used + need > budget {
            break;
        }
        used += need;
        p.push(&format!(" {}", vocab[r]), &toks[r]);
        if dot {
            p.push(" ....", &dots);
        }
        counts[r] += 1;
    }
    let mut order: Vec<usize> = (0..FWE_VOCAB).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    if counts[order[2]] <= counts[order[3]] {
        return Err(Error::Config(format!(
            "length {length} is too short for fwe: no clear top three"
        )));
    }
    let expected: Vec<String> = order[..3].iter().map(|&i| vocab[i].clone()).collect();
    let p = pb.finish(p, question, prefix)?;
    Ok(TaskSample {
        task: "ruler/fwe".into(),
        length,
        depth: None,
        sample,
        text: p.text,
        tokens: p.tokens,
        expected,
        max_new: 32,
    })
}
