//! Client API lists: a pipeline page read in one round trip is the same page as
//! `Store::pipelines`, less the configs.

use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(pipeline_pages_match_the_full_list);

async fn pipeline_pages_match_the_full_list(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/pages").await;
    for i in 0..7 {
        let branch = if i % 2 == 0 { "main" } else { "feature" };
        pipeline(store, &p.id, branch, Vec::new()).await;
    }
    for (branch, before, limit) in [
        (None, None, 3),
        (None, Some(5), 10),
        (Some("main"), None, 2),
        (Some("feature"), Some(4), 5),
        (Some("none"), None, 5),
    ] {
        let page = Page { before, limit };
        let full = store.pipelines(&p.id, branch, page.clone()).await.unwrap();
        let quick = store.pipeline_page(&p.id, branch, page).await.unwrap();
        let expected: Vec<Pipeline> = full
            .into_iter()
            .map(|mut x| {
                x.config_source = None;
                x.config_compiled = None;
                x.continuation_key_hash = None;
                x.continuation_deadline = None;
                x
            })
            .collect();
        assert_eq!(quick, expected, "{branch:?} {before:?} {limit}");
    }
    let numbers: Vec<i64> = store
        .pipeline_page(
            &p.id,
            None,
            Page {
                before: None,
                limit: 3,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|x| x.number)
        .collect();
    assert_eq!(numbers, [7, 6, 5]);
}
