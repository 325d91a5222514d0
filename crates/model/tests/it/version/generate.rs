//! A seeded generator of adversarial version pairs: the places where version orders go wrong,
//! at a rate no hand-written list reaches.
//!
//! Versions are built from atoms (digit runs with leading zeros or far beyond `u64`, letter
//! runs, every separator each tool treats specially, characters dpkg calls invalid, blanks,
//! control characters, non-ASCII), with optional epochs (0, missing, huge, negative, not a
//! number) and revisions (empty, several hyphens). Pairs are mostly near-equal: one version
//! against a mutation of itself, a respelling that should compare equal, or itself plus a
//! suffix such as `~` or `^`. Our own generator rather than proptest's, because the real tools
//! are asked about all pairs in bulk, not one case at a time.

/// SplitMix64: small, fast, and the same sequence on every platform for a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be 0.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn percent(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Which tool the versions are meant for: it decides the mix of atoms and epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Deb,
    Rpm,
}

/// `count` pairs for `flavour`, the same ones for the same seed.
pub fn pairs(flavour: Flavour, seed: u64, count: usize) -> Vec<(String, String)> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| pair(flavour, &mut rng)).collect()
}

/// One version for `flavour`.
pub fn version(flavour: Flavour, rng: &mut Rng) -> String {
    if rng.percent(2) {
        return rng.pick(special_versions(flavour)).to_owned();
    }
    let mut version = String::new();
    if rng.percent(3) {
        version.push_str(rng.pick(&[" ", "\t", "  "]));
    }
    if rng.percent(25) {
        version.push_str(&epoch(flavour, rng));
        version.push(':');
    }
    let long = rng.percent(3);
    version.push_str(&run_of_atoms(flavour, rng, long));
    let revision_chance = if flavour == Flavour::Deb { 45 } else { 50 };
    if rng.percent(revision_chance) {
        version.push('-');
        version.push_str(&run_of_atoms(flavour, rng, false));
        if rng.percent(5) {
            version.push('-');
            version.push_str(&run_of_atoms(flavour, rng, false));
        }
    }
    if rng.percent(3) {
        version.push_str(rng.pick(&[" ", "\t", " \t"]));
    }
    version
}

fn pair(flavour: Flavour, rng: &mut Rng) -> (String, String) {
    let a = version(flavour, rng);
    let b = match rng.below(100) {
        0..35 => {
            let mut b = a.clone();
            for _ in 0..=rng.below(3) {
                b = mutate(flavour, rng, &b);
            }
            b
        }
        35..40 => a.clone(),
        40..50 => respell(flavour, rng, &a),
        50..65 => {
            let suffix = rng.pick(&[
                "~", "~~", "^", "^1", ".0", "0", "a", "-0", "-1", "+", "~rc1", ".", "+b1", "0~",
                "~0", "-", ":", "_", "^~", "~^",
            ]);
            format!("{a}{suffix}")
        }
        _ => version(flavour, rng),
    };
    if rng.percent(50) { (a, b) } else { (b, a) }
}

fn special_versions(flavour: Flavour) -> &'static [&'static str] {
    match flavour {
        Flavour::Deb => {
            &["", "<unknown>", " ", "-", ":", "~", "0", "1:", "-1", "0:0", "~~", "a", "<unknown> "]
        }
        Flavour::Rpm => &["", ":", "-", "~", "^", "0", "1:", "-1", "0:0", ":-", "\u{0}", "1\u{0}2"],
    }
}

fn epoch(flavour: Flavour, rng: &mut Rng) -> String {
    if rng.percent(50) {
        return digit_run(rng);
    }
    let epochs: &[&str] = match flavour {
        Flavour::Deb => &[
            "0",
            "1",
            "2",
            "10",
            "00",
            "01",
            "0001",
            "2147483647",
            "2147483648",
            "4294967296",
            "99999999999999999999",
            "-0",
            "+1",
            "-1",
            "",
            "a",
            "1a",
            "\n1",
            "\r2",
            "\u{b}3",
            "0x1",
            "+",
            "-",
            "--1",
            "+-1",
            "1.0",
            "-99999999999999999999",
            "\n-0",
            "\u{c}+4",
        ],
        Flavour::Rpm => &[
            "0",
            "1",
            "2",
            "10",
            "00",
            "01",
            "2147483648",
            "99999999999999999999",
            "",
            "a",
            "1a",
            "-1",
            " 1",
            "1.0",
            "^",
            "~",
            "+1",
        ],
    };
    rng.pick(epochs).to_owned()
}

/// A version or revision body: a few atoms, or a great many when `long`.
fn run_of_atoms(flavour: Flavour, rng: &mut Rng, long: bool) -> String {
    let n_atoms = match (long, rng.percent(4)) {
        (true, _) => 50 + rng.below(400),
        // Empty: dpkg refuses it, rpm takes it.
        (false, true) => 0,
        (false, false) => 1 + rng.below(6),
    };
    let mut text = String::new();
    for index in 0..n_atoms {
        // Most real versions start with a digit; dpkg only warns about the others.
        let atom = if index == 0 && rng.percent(85) { digit_run(rng) } else { atom(flavour, rng) };
        text.push_str(&atom);
    }
    text
}

fn atom(flavour: Flavour, rng: &mut Rng) -> String {
    match rng.below(100) {
        0..35 => digit_run(rng),
        35..55 => letter_run(rng),
        55..88 => rng
            .pick(match flavour {
                Flavour::Deb => &[".", ".", ".", "+", "~", "~~", "~", "+"],
                Flavour::Rpm => &[".", ".", ".", "+", "~", "~~", "^", "^^", "_", "^"],
            })
            .to_owned(),
        // Hyphens and colons move the boundaries between epoch, version and revision; for
        // dpkg, a colon without a valid epoch is an error.
        88..90 => "-".to_owned(),
        90..91 => ":".to_owned(),
        _ => rng.pick(ODD_CHARACTERS).to_owned(),
    }
}

/// Characters outside both tools' alphabets: dpkg warns about or refuses them, rpm treats them
/// as separators. No NUL: neither tool can be handed one through its interface.
const ODD_CHARACTERS: &[&str] = &[
    "_", "^", "@", "!", "/", ",", "=", "<", ">", "*", "é", "ß", "€", "\u{a0}", "😀", "\u{7f}",
    "\u{1}", "\n", "\r", "\u{b}", "\u{c}", " ", "\t", "%", "#", "'", "\"", "\\", "ÿ",
];

fn digit_run(rng: &mut Rng) -> String {
    match rng.below(100) {
        0..40 => rng
            .pick(&["0", "1", "2", "9", "10", "00", "01", "007", "100", "0000", "5", "11"])
            .to_owned(),
        40..80 => {
            let n_digits = 1 + rng.below(4);
            random_digits(rng, n_digits)
        }
        80..92 => rng
            .pick(&[
                "2147483647",
                "2147483648",
                "4294967295",
                "4294967296",
                "9223372036854775807",
                "9223372036854775808",
                "18446744073709551615",
                "18446744073709551616",
                "000000000000000000000000018446744073709551616",
            ])
            .to_owned(),
        92..97 => {
            let n_digits = 19 + rng.below(8);
            random_digits(rng, n_digits)
        }
        _ => {
            let zeros = "0".repeat(rng.below(3) * rng.below(30));
            let n_digits = 50 + rng.below(350);
            format!("{zeros}{}", random_digits(rng, n_digits))
        }
    }
}

fn random_digits(rng: &mut Rng, n_digits: usize) -> String {
    (0..n_digits).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
}

fn letter_run(rng: &mut Rng) -> String {
    if rng.percent(50) {
        return rng
            .pick(&[
                "a", "b", "z", "A", "Z", "rc", "beta", "alpha", "pre", "git", "dfsg", "deb",
                "ubuntu", "el", "fc", "svn", "post", "aa", "ZZ", "Beta",
            ])
            .to_owned();
    }
    let letters = b"abcxyzABCXYZ";
    (0..1 + rng.below(5)).map(|_| char::from(letters[rng.below(letters.len())])).collect()
}

/// One small edit: insert, delete, replace, duplicate or swap a character, or nudge a digit.
fn mutate(flavour: Flavour, rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let alphabet: &[char] = match flavour {
        Flavour::Deb => {
            &['0', '1', '9', 'a', 'z', 'A', '.', '+', '~', '-', ':', '_', '^', ' ', 'é', '\n']
        }
        Flavour::Rpm => {
            &['0', '1', '9', 'a', 'z', 'A', '.', '+', '~', '-', ':', '_', '^', ' ', 'é', '\u{0}']
        }
    };
    let random_char = |rng: &mut Rng| alphabet[rng.below(alphabet.len())];
    if chars.is_empty() {
        return random_char(rng).to_string();
    }
    let at = rng.below(chars.len());
    match rng.below(7) {
        0 => chars.insert(rng.below(chars.len() + 1), random_char(rng)),
        1 => {
            chars.remove(at);
        }
        2 => chars[at] = random_char(rng),
        3 => chars.insert(at, chars[at]),
        4 if at + 1 < chars.len() => chars.swap(at, at + 1),
        5 if chars[at].is_ascii_digit() => {
            let digit = chars[at] as u8 - b'0';
            let nudged = if rng.percent(50) { (digit + 1) % 10 } else { (digit + 9) % 10 };
            chars[at] = char::from(b'0' + nudged);
        }
        6 if chars[at].is_ascii_alphabetic() => chars[at] = flip_case(chars[at]),
        _ => chars.insert(at, '0'),
    }
    // NUL is for rpm only, and rarely: dpkg cannot be handed one at all.
    if flavour == Flavour::Rpm && chars.contains(&'\u{0}') && rng.percent(80) {
        chars.retain(|&c| c != '\u{0}');
    }
    chars.into_iter().collect()
}

/// A spelling of `text` that the tool should find equal, or nearly: leading zeros, a `0`
/// epoch, a `0` revision, another separator.
fn respell(flavour: Flavour, rng: &mut Rng, text: &str) -> String {
    match rng.below(5) {
        0 => {
            // A leading zero before some digit run.
            let starts: Vec<usize> = text
                .char_indices()
                .filter(|&(at, c)| {
                    c.is_ascii_digit() && !text[..at].ends_with(|p: char| p.is_ascii_digit())
                })
                .map(|(at, _)| at)
                .collect();
            match starts.is_empty() {
                true => format!("0{text}"),
                false => {
                    let at = starts[rng.below(starts.len())];
                    format!("{}0{}", &text[..at], &text[at..])
                }
            }
        }
        1 => format!("0:{text}"),
        2 => match flavour {
            Flavour::Deb => format!("{text}-0"),
            Flavour::Rpm => format!(":{text}"),
        },
        3 => {
            let from = if rng.percent(50) { '.' } else { '+' };
            let to = match flavour {
                Flavour::Deb => rng.pick(&[".", "+", "~"]),
                Flavour::Rpm => rng.pick(&["_", ".", "+", "%"]),
            };
            text.replacen(from, to, 1)
        }
        _ => text.to_ascii_uppercase(),
    }
}

fn flip_case(c: char) -> char {
    if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
}
