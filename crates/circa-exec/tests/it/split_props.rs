//! `tests split`: every node's share together is exactly the input, for every mode.

use circa_exec::junit::parse;
use circa_exec::split::{
    FALLBACK_MESSAGE, Method, SplitBy, SplitOptions, Timings, TimingsType, split,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn all_nodes(
    items: &[String],
    opts: &SplitOptions,
    timings: Option<&Timings>,
    size: &dyn Fn(&str) -> Option<u64>,
) -> Vec<Vec<String>> {
    (0..opts.total)
        .map(|index| {
            let o = SplitOptions {
                index,
                ..opts.clone()
            };
            split(items, &o, timings, size).items
        })
        .collect()
}

fn multiset(items: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m
}

proptest! {
    #[test]
    fn union_of_nodes_is_the_input(
        items in prop::collection::vec("[a-d]{1,3}(/[a-d]{1,2})?", 0..40),
        total in 1usize..=8,
        timed in prop::collection::btree_map("[a-d]{1,3}", 0.0f64..100.0, 0..20),
        time_default in prop::sample::select(vec![0.0, 1.0, 5.5]),
    ) {
        let timings = Timings {
            by_file: timed.clone(),
            by_classname: timed.clone(),
            by_testname: timed,
        };
        let size = |s: &str| (!s.len().is_multiple_of(3)).then(|| (s.len() * 37 % 101) as u64);
        let modes = [
            (SplitBy::Name, TimingsType::Autodetect),
            (SplitBy::Filesize, TimingsType::Autodetect),
            (SplitBy::Timings, TimingsType::Autodetect),
            (SplitBy::Timings, TimingsType::Filename),
            (SplitBy::Timings, TimingsType::Classname),
            (SplitBy::Timings, TimingsType::Testname),
        ];
        for (split_by, timings_type) in modes {
            let opts = SplitOptions {
                index: 0,
                total,
                split_by,
                timings_type,
                time_default,
                show_counts: true,
            };
            for t in [None, Some(&timings)] {
                let nodes = all_nodes(&items, &opts, t, &size);
                prop_assert_eq!(nodes.len(), total);
                let union = multiset(nodes.iter().flatten().cloned());
                prop_assert_eq!(&union, &multiset(items.iter().cloned()));
                // Deterministic: the same call gives the same share.
                prop_assert_eq!(&all_nodes(&items, &opts, t, &size), &nodes);
            }
        }
    }

    #[test]
    fn by_name_shares_differ_by_at_most_one(
        items in prop::collection::vec("[a-z]{1,4}", 0..50),
        total in 1usize..=8,
    ) {
        let opts = SplitOptions { total, ..SplitOptions::default() };
        let sizes: Vec<usize> = all_nodes(&items, &opts, None, &|_| None)
            .iter()
            .map(Vec::len)
            .collect();
        let max = sizes.iter().max().copied().unwrap_or(0);
        let min = sizes.iter().min().copied().unwrap_or(0);
        prop_assert!(max - min <= 1);
    }
}

#[test]
fn timings_from_corpus_reports() {
    let xml = br#"<testsuites>
      <testsuite name="s" file="spec/a_spec.rb">
        <testcase classname="A" name="one" time="3"/>
        <testcase classname="A" name="two" time="2" file="./spec/b_spec.rb"/>
      </testsuite>
      <testsuite name="t"><testcase classname="B" name="three" time="4" file="spec/b_spec.rb"/></testsuite>
    </testsuites>"#;
    let timings = Timings::from_reports(&[parse(xml).unwrap()]);
    assert_eq!(timings.by_file["spec/a_spec.rb"], 3.0);
    assert_eq!(timings.by_file["spec/b_spec.rb"], 6.0);
    assert_eq!(timings.by_classname["A"], 5.0);
    assert_eq!(timings.by_testname["three"], 4.0);

    let items: Vec<String> = ["spec/a_spec.rb", "spec/b_spec.rb", "spec/c_spec.rb"]
        .map(String::from)
        .to_vec();
    let opts = SplitOptions {
        total: 2,
        split_by: SplitBy::Timings,
        ..SplitOptions::default()
    };
    let node0 = split(&items, &opts, Some(&timings), &|_| None);
    assert_eq!(node0.method, Method::Timings(TimingsType::Filename));
    assert_eq!(node0.items, ["spec/b_spec.rb"]);
    assert_eq!(
        node0.messages,
        [
            "Autodetected filename timings.",
            "No timing found for \"spec/c_spec.rb\""
        ]
    );

    // JSON round trip, as for --timings-file.
    let json = serde_json::to_vec(&timings).unwrap();
    assert_eq!(Timings::from_json(&json).unwrap(), timings);
    assert!(Timings::from_json(b"[1]").is_err());
}

#[test]
fn unmatched_timings_fall_back_with_the_circleci_message() {
    let mut timings = Timings::default();
    timings.by_file.insert("other.rb".into(), 1.0);
    let items = vec!["b".to_owned(), "a".to_owned()];
    let s = split(
        &items,
        &SplitOptions {
            split_by: SplitBy::Timings,
            total: 2,
            ..SplitOptions::default()
        },
        Some(&timings),
        &|_| None,
    );
    assert_eq!(s.messages, [FALLBACK_MESSAGE]);
    assert_eq!(s.method, Method::Name);
    assert_eq!(s.items, ["a"]);
}
