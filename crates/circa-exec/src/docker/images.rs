//! Making sure a job's images are present: inspect, and pull what is missing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use circa_model::task::RegistryAuth;
use futures_util::StreamExt;
use futures_util::future::try_join_all;

use super::client::{DockerClient, describe, is_not_found};
use crate::events::Reporter;
use crate::executor::ExecError;

/// How often a pull in progress may report a new progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// One image to make present, with its credentials.
pub(crate) struct Wanted<'a> {
    /// The reference (after `--image-map`).
    pub image: &'a str,
    /// Registry credentials from the config.
    pub auth: Option<&'a RegistryAuth>,
}

/// Inspects every image at once and pulls the missing ones (also at once). Fails with
/// [`ExecError::ImageUnavailable`] naming the first image that cannot be had.
pub(crate) async fn ensure_all(
    client: &DockerClient,
    wanted: &[Wanted<'_>],
    secrets_env: &BTreeMap<String, String>,
    reporter: &Reporter,
) -> Result<(), ExecError> {
    let mut unique: Vec<&Wanted<'_>> = Vec::new();
    for w in wanted {
        if !unique.iter().any(|u| u.image == w.image) {
            unique.push(w);
        }
    }
    try_join_all(
        unique
            .into_iter()
            .map(|w| ensure(client, w, secrets_env, reporter)),
    )
    .await?;
    Ok(())
}

async fn ensure(
    client: &DockerClient,
    wanted: &Wanted<'_>,
    secrets_env: &BTreeMap<String, String>,
    reporter: &Reporter,
) -> Result<(), ExecError> {
    let unavailable = |reason: String| ExecError::ImageUnavailable {
        image: wanted.image.to_owned(),
        reason,
    };
    match client.api().inspect_image(wanted.image).await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(unavailable(describe(&e))),
    }
    let reference = full_reference(wanted.image);
    let credentials = wanted.auth.map(|auth| DockerCredentials {
        username: Some(auth.username.clone()),
        password: Some(expand_password(&auth.password, secrets_env, reporter)),
        serveraddress: Some(registry_of(&reference)),
        ..Default::default()
    });
    let options = CreateImageOptions {
        from_image: Some(reference.clone()),
        ..Default::default()
    };
    reporter.progress(format!("pulling {}", wanted.image), false);
    let mut stream = client.api().create_image(Some(options), None, credentials);
    let mut last_report = Instant::now();
    let mut last_status = String::new();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => {
                reporter.progress(format!("pulling {} failed", wanted.image), true);
                return Err(unavailable(describe(&e)));
            }
        };
        let Some(status) = info.status else { continue };
        let changed = status != last_status;
        if changed || last_report.elapsed() >= PROGRESS_EVERY {
            let mut line = format!("pulling {}: ", wanted.image);
            if let Some(id) = &info.id {
                line.push_str(id);
                line.push_str(": ");
            }
            line.push_str(&status);
            if let Some(detail) = &info.progress_detail
                && let (Some(current), Some(total)) = (detail.current, detail.total)
                && total > 0
            {
                line.push_str(&format!(" {}%", current.saturating_mul(100) / total));
            }
            reporter.progress(line, false);
            last_report = Instant::now();
            last_status = status;
        }
    }
    reporter.progress(format!("pulled {}", wanted.image), true);
    Ok(())
}

/// `image` with an explicit tag: the engine pulls *every* tag of a reference without one.
pub(crate) fn full_reference(image: &str) -> String {
    if image.contains('@') {
        return image.to_owned();
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') {
        image.to_owned()
    } else {
        format!("{image}:latest")
    }
}

/// The registry an image reference is pulled from, as the engine's credentials name it.
pub(crate) fn registry_of(reference: &str) -> String {
    match reference.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            first.to_owned()
        }
        _ => "https://index.docker.io/v1/".to_owned(),
    }
}

/// An `auth.password` that is a whole `$VAR` or `${VAR}` is looked up in `secrets_env`.
pub(crate) fn expand_password(
    password: &str,
    secrets_env: &BTreeMap<String, String>,
    reporter: &Reporter,
) -> String {
    let Some(name) = variable_name(password) else {
        return password.to_owned();
    };
    match secrets_env.get(name) {
        Some(value) => value.clone(),
        None => {
            reporter.notice(
                format!(
                    "image auth password names ${name}, which is not set; using an empty password"
                ),
                true,
            );
            String::new()
        }
    }
}

/// `VAR` of `$VAR` or `${VAR}`, when `s` is exactly that.
pub(crate) fn variable_name(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('$')?;
    let name = match rest.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}')?,
        None => rest,
    };
    let mut chars = name.chars();
    let first = chars.next()?;
    let ok = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(name)
}
