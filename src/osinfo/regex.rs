//! A tiny backtracking regular-expression matcher for the ISO match rules of
//! osinfo-db (`<volume-id>`, `<system-id>`, `<publisher-id>`,
//! `<application-id>`).
//!
//! libosinfo matches those rules with `g_regex_match_simple(pattern, field, 0, 0)`:
//! an unanchored PCRE *search*, case-sensitive. The database only uses a small
//! subset of PCRE, which this module implements: literals, `.`, `^`, `$`,
//! `[...]` classes with ranges and negation, `\d \D \w \W \s \S`, escaped
//! punctuation, groups `( )`, `(?: )`, look-aheads `(?= )` / `(?! )`,
//! alternation `|` and the quantifiers `* + ? {n} {n,} {n,m}` (greedy, or lazy
//! with a trailing `?`). Anything else is refused when compiling.

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Regex {
    alts: Vec<Vec<Node>>,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError {
    /// Character offset of the problem in the pattern.
    pub(crate) at: usize,
    /// What is wrong, lowercase.
    pub(crate) what: &'static str,
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at offset {}", self.what, self.at)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Lit(char),
    Any,
    Class(Class),
    Start,
    End,
    Group(Vec<Vec<Node>>),
    Look { negate: bool, alts: Vec<Vec<Node>> },
    Repeat(Box<Repeat>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Repeat {
    node: Node,
    min: u32,
    max: Option<u32>,
    greedy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    negate: bool,
    items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

impl Item {
    fn matches(self, c: char) -> bool {
        match self {
            Item::Range(lo, hi) => lo <= c && c <= hi,
            Item::Digit(neg) => c.is_ascii_digit() != neg,
            Item::Word(neg) => (c.is_alphanumeric() || c == '_') != neg,
            Item::Space(neg) => c.is_whitespace() != neg,
        }
    }
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.items.iter().any(|i| i.matches(c)) != self.negate
    }

    fn single(item: Item) -> Node {
        Node::Class(Class {
            negate: false,
            items: vec![item],
        })
    }
}

impl Regex {
    /// Compiles `pattern`, refusing syntax outside the supported subset.
    pub(crate) fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut p = Parser {
            s: pattern.chars().collect(),
            i: 0,
        };
        let alts = p.alternatives()?;
        match p.peek() {
            None => Ok(Regex { alts }),
            Some(_) => Err(p.err("unmatched closing parenthesis")),
        }
    }

    /// Whether the pattern matches anywhere in `text` (PCRE search semantics).
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        (0..=t.len()).any(|start| alts(&self.alts, &t, start, &|_| true))
    }
}

struct Parser {
    s: Vec<char>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        self.i += usize::from(c.is_some());
        c
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn err(&self, what: &'static str) -> RegexError {
        RegexError { at: self.i, what }
    }

    fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, RegexError> {
        let mut out = vec![self.sequence()?];
        while self.eat('|') {
            out.push(self.sequence()?);
        }
        Ok(out)
    }

    fn sequence(&mut self) -> Result<Vec<Node>, RegexError> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            seq.push(self.quantified(atom)?);
        }
        Ok(seq)
    }

    fn atom(&mut self) -> Result<Node, RegexError> {
        match self.bump() {
            Some('.') => Ok(Node::Any),
            Some('^') => Ok(Node::Start),
            Some('$') => Ok(Node::End),
            Some('[') => self.class(),
            Some('(') => self.group(),
            Some('\\') => self.escape(),
            Some('*' | '+' | '?') => Err(self.err("nothing to repeat")),
            Some(c) => Ok(Node::Lit(c)),
            None => Err(self.err("unexpected end of pattern")),
        }
    }

    fn group(&mut self) -> Result<Node, RegexError> {
        let kind = if self.eat('?') { self.bump() } else { None };
        let alts = self.alternatives()?;
        if !self.eat(')') {
            return Err(self.err("missing closing parenthesis"));
        }
        match kind {
            None | Some(':') => Ok(Node::Group(alts)),
            Some('=') => Ok(Node::Look {
                negate: false,
                alts,
            }),
            Some('!') => Ok(Node::Look { negate: true, alts }),
            Some(_) => Err(self.err("unsupported group kind")),
        }
    }

    fn escape(&mut self) -> Result<Node, RegexError> {
        let c = self.bump().ok_or_else(|| self.err("trailing backslash"))?;
        match escape_item(c) {
            Some(item) => Ok(Class::single(item)),
            None => escape_literal(c)
                .map(Node::Lit)
                .ok_or_else(|| self.err("unsupported escape")),
        }
    }

    fn class(&mut self) -> Result<Node, RegexError> {
        let negate = self.eat('^');
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .bump()
                .ok_or_else(|| self.err("missing closing bracket"))?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '\\' => match self.class_escape()? {
                    ClassChar::Item(item) => {
                        items.push(item);
                        continue;
                    }
                    ClassChar::Char(ch) => ch,
                },
                other => other,
            };
            items.push(self.range_from(lo)?);
        }
        Ok(Node::Class(Class { negate, items }))
    }

    fn class_escape(&mut self) -> Result<ClassChar, RegexError> {
        let c = self.bump().ok_or_else(|| self.err("trailing backslash"))?;
        if let Some(item) = escape_item(c) {
            return Ok(ClassChar::Item(item));
        }
        escape_literal(c)
            .map(ClassChar::Char)
            .ok_or_else(|| self.err("unsupported escape"))
    }

    fn range_from(&mut self, lo: char) -> Result<Item, RegexError> {
        let is_range =
            self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&c| c != ']');
        if !is_range {
            return Ok(Item::Range(lo, lo));
        }
        self.i += 1;
        let hi = match self.bump() {
            Some('\\') => match self.class_escape()? {
                ClassChar::Char(ch) => ch,
                ClassChar::Item(_) => return Err(self.err("class escape as range end")),
            },
            Some(ch) => ch,
            None => return Err(self.err("missing closing bracket")),
        };
        if hi < lo {
            return Err(self.err("range out of order"));
        }
        Ok(Item::Range(lo, hi))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, RegexError> {
        let Some((min, max)) = self.quantifier() else {
            return Ok(atom);
        };
        if matches!(atom, Node::Start | Node::End | Node::Look { .. }) {
            return Err(self.err("nothing to repeat"));
        }
        let greedy = !self.eat('?');
        self.eat('+');
        Ok(Node::Repeat(Box::new(Repeat {
            node: atom,
            min,
            max,
            greedy,
        })))
    }

    fn quantifier(&mut self) -> Option<(u32, Option<u32>)> {
        let q = match self.peek()? {
            '*' => (0, None),
            '+' => (1, None),
            '?' => (0, Some(1)),
            '{' => return self.braces(),
            _ => return None,
        };
        self.i += 1;
        Some(q)
    }

    /// `{n}`, `{n,}` or `{n,m}`; anything else leaves `{` as a literal, as PCRE does.
    fn braces(&mut self) -> Option<(u32, Option<u32>)> {
        let rest: String = self.s[self.i..].iter().collect();
        let end = rest.find('}')?;
        let body = &rest[1..end];
        let (lo, hi) = match body.split_once(',') {
            None => (body, Some(body)),
            Some((lo, "")) => (lo, None),
            Some((lo, hi)) => (lo, Some(hi)),
        };
        let min = lo.parse().ok()?;
        let max = match hi {
            None => None,
            Some(h) => Some(h.parse().ok()?),
        };
        self.i += rest[..=end].chars().count();
        Some((min, max))
    }
}

enum ClassChar {
    Item(Item),
    Char(char),
}

fn escape_item(c: char) -> Option<Item> {
    match c {
        'd' => Some(Item::Digit(false)),
        'D' => Some(Item::Digit(true)),
        'w' => Some(Item::Word(false)),
        'W' => Some(Item::Word(true)),
        's' => Some(Item::Space(false)),
        'S' => Some(Item::Space(true)),
        _ => None,
    }
}

fn escape_literal(c: char) -> Option<char> {
    match c {
        't' => Some('\t'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        c if c.is_ascii_alphanumeric() => None,
        c => Some(c),
    }
}

type Cont<'a> = &'a dyn Fn(usize) -> bool;

fn alts(alts: &[Vec<Node>], t: &[char], i: usize, k: Cont<'_>) -> bool {
    alts.iter().any(|seq| sequence(seq, t, i, k))
}

fn sequence(seq: &[Node], t: &[char], i: usize, k: Cont<'_>) -> bool {
    match seq.split_first() {
        None => k(i),
        Some((first, rest)) => node(first, t, i, &|j| sequence(rest, t, j, k)),
    }
}

fn node(n: &Node, t: &[char], i: usize, k: Cont<'_>) -> bool {
    let here = t.get(i).copied();
    match n {
        Node::Lit(c) => here == Some(*c) && k(i + 1),
        Node::Any => here.is_some_and(|c| c != '\n') && k(i + 1),
        Node::Class(class) => here.is_some_and(|c| class.matches(c)) && k(i + 1),
        Node::Start => i == 0 && k(i),
        Node::End => (i == t.len() || (i + 1 == t.len() && here == Some('\n'))) && k(i),
        Node::Group(group) => alts(group, t, i, k),
        Node::Look { negate, alts: look } => alts(look, t, i, &|_| true) != *negate && k(i),
        Node::Repeat(rep) => repeat(rep, 0, t, i, k),
    }
}

fn repeat(rep: &Repeat, count: u32, t: &[char], i: usize, k: Cont<'_>) -> bool {
    let more = || {
        rep.max.is_none_or(|max| count < max)
            && node(&rep.node, t, i, &|j| {
                (j != i || count < rep.min) && repeat(rep, count + 1, t, j, k)
            })
    };
    let stop = || count >= rep.min && k(i);
    let (first, then): (&dyn Fn() -> bool, &dyn Fn() -> bool) = if rep.greedy {
        (&more, &stop)
    } else {
        (&stop, &more)
    };
    first() || then()
}

#[cfg(test)]
mod tests {
    use super::Regex;

    #[test]
    fn search_semantics_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("Debian 11.\\d+.\\d+ amd64 n", "Debian 11.5.0 amd64 n", true),
            ("Debian 11.\\d+.\\d+ amd64 n", "Debian 11.5.0 i386 n", false),
            (
                "Debian 11.\\d+.\\d+ amd64 n",
                "xx Debian 11.10.2 amd64 netinst",
                true,
            ),
            (
                "^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_",
                "CCCOMA_X64FRE_EN-US_DV9",
                true,
            ),
            (
                "^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_",
                "J_CCSA_X64FRE_EN-US_DV5",
                true,
            ),
            (
                "^(J_)?(CCSN?A|C?CCOMA)_X64FREE?_",
                "X_CCSA_X64FRE_EN-US_DV5",
                false,
            ),
            ("Fedora-S-dvd-x86_64-36", "Fedora-S-dvd-x86_64-36", true),
            (
                "Fedora-.*-dvd-x86_64-(3[8-9]|[4-9][0-9])",
                "Fedora-S-dvd-x86_64-41",
                true,
            ),
            (
                "Fedora-.*-dvd-x86_64-(3[8-9]|[4-9][0-9])",
                "Fedora-S-dvd-x86_64-37",
                false,
            ),
            (
                "RHEL-[1-9][0-9]-([0-9]|[1-9][0-9]).*x86_64$",
                "RHEL-10-0-BaseOS-x86_64",
                true,
            ),
            (
                "RHEL-[1-9][0-9]-([0-9]|[1-9][0-9]).*x86_64$",
                "RHEL-10-0-BaseOS-x86_64x",
                false,
            ),
            ("ARCH_\\d{6}", "ARCH_202301", true),
            ("ARCH_\\d{6}", "ARCH_20230", false),
            (
                "GUIX_X86_64-LINUX_\\w{7}",
                "GUIX_X86_64-LINUX_abc1234",
                true,
            ),
            (
                "Ubuntu 10.04(.\\d\\+?)? LTS amd64",
                "Ubuntu 10.04.4 LTS amd64",
                true,
            ),
            (
                "Ubuntu 10.04(.\\d\\+?)? LTS amd64",
                "Ubuntu 10.04 LTS amd64",
                true,
            ),
            (
                "Asianux Server (7 (?!SP[123])|(4 ?!SP[67])).+",
                "Asianux Server 7 SP4 x86_64",
                true,
            ),
            (
                "Asianux Server (7 (?!SP[123])|(4 ?!SP[67])).+",
                "Asianux Server 7 SP2 x86_64",
                false,
            ),
            (
                "ARCH LINUX <HTTPS?://(WWW.)?ARCHLINUX.ORG>",
                "ARCH LINUX <HTTPS://ARCHLINUX.ORG>",
                true,
            ),
            ("[^0-9]+$", "abc", true),
            ("^[^0-9]+$", "ab1c", false),
            ("[-_]x", "a_x", true),
            ("a{2,3}b", "aab", true),
            ("^a{2,3}b", "ab", false),
            ("^a{2,}$", "aaaaa", true),
            ("x{,2}", "x{,2}", true),
            ("a.*?b", "axxb", true),
            ("\\D\\d", "a1", true),
            ("^$", "", true),
            ("(a|)+b", "b", true),
        ];
        for &(pattern, text, want) in cases {
            let re = Regex::new(pattern).expect(pattern);
            assert_eq!(re.is_match(text), want, "{pattern:?} on {text:?}");
        }
    }

    #[test]
    fn refuses_unsupported_syntax() {
        for pattern in [
            "(?i)abc", "a\\bc", "(abc", "abc)", "*a", "[abc", "[z-a]", "\\",
        ] {
            assert!(
                Regex::new(pattern).is_err(),
                "{pattern:?} should be refused"
            );
        }
    }
}
