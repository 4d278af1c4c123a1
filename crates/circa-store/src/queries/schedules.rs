//! Schedules, and the claim of a tick.

use async_trait::async_trait;

use super::{Backend, missing_parent};
use crate::error::StoreError;
use crate::ids::{ProjectId, ScheduleId, UserId};
use crate::records::Millis;
use crate::schedule::{NewSchedule, Schedule, ScheduleOrigin};
use crate::sql::codec::{from_json, new_id, to_json};
use crate::store::{ScheduleStore, StoreResult};

/// Columns of [`ScheduleRow`].
macro_rules! schedule_columns {
    () => {
        "id, project_id, origin, name, description, timetable, cron, timezone, parameters, \
         actor_id, branch, last_tick, created_at, updated_at"
    };
}

/// The most schedules a page holds.
const MAX_PAGE: u32 = 100;

/// A `schedules` row.
#[derive(sqlx::FromRow)]
struct ScheduleRow {
    id: ScheduleId,
    project_id: ProjectId,
    origin: String,
    name: String,
    description: Option<String>,
    timetable: String,
    cron: String,
    timezone: String,
    parameters: String,
    actor_id: Option<UserId>,
    branch: Option<String>,
    last_tick: i64,
    created_at: i64,
    updated_at: i64,
}

impl ScheduleRow {
    fn decode(self) -> StoreResult<Schedule> {
        Ok(Schedule {
            origin: ScheduleOrigin::parse(&self.origin).ok_or_else(|| {
                StoreError::Corrupt(format!("`{}` is not a schedule origin", self.origin))
            })?,
            timetable: from_json(&self.timetable, "schedule timetable")?,
            parameters: from_json(&self.parameters, "schedule parameters")?,
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            description: self.description,
            cron: self.cron,
            timezone: self.timezone,
            actor_id: self.actor_id,
            branch: self.branch,
            last_tick: self.last_tick,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn decode_rows(rows: Vec<ScheduleRow>) -> StoreResult<Vec<Schedule>> {
    rows.into_iter().map(ScheduleRow::decode).collect()
}

/// A unique-key violation as [`StoreError::Conflict`], a missing project or user as
/// [`StoreError::NotFound`].
fn insert_error(error: sqlx::Error, name: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            StoreError::Conflict(format!("a schedule named {name:?}"))
        }
        _ => missing_parent(error, || "project or user".into()),
    }
}

async fn insert(conn: &mut super::Conn, new: NewSchedule, now: Millis) -> StoreResult<Schedule> {
    let schedule = Schedule {
        id: new_id(),
        project_id: new.project_id,
        origin: new.origin,
        name: new.name,
        description: new.description,
        timetable: new.timetable,
        cron: new.cron,
        timezone: new.timezone,
        parameters: new.parameters,
        actor_id: new.actor_id,
        branch: new.branch,
        last_tick: now,
        created_at: now,
        updated_at: now,
    };
    sqlx::query(
        "INSERT INTO schedules (id, project_id, origin, name, description, timetable, cron, \
         timezone, parameters, actor_id, branch, last_tick, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)",
    )
    .bind(&schedule.id)
    .bind(&schedule.project_id)
    .bind(schedule.origin.as_str())
    .bind(&schedule.name)
    .bind(&schedule.description)
    .bind(to_json(&schedule.timetable, "schedule timetable")?)
    .bind(&schedule.cron)
    .bind(&schedule.timezone)
    .bind(to_json(&schedule.parameters, "schedule parameters")?)
    .bind(&schedule.actor_id)
    .bind(&schedule.branch)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| insert_error(e, &schedule.name))?;
    Ok(schedule)
}

#[async_trait]
impl ScheduleStore for Backend {
    async fn create_schedule(&self, new: NewSchedule, now: Millis) -> StoreResult<Schedule> {
        let mut tx = self.begin().await?;
        let schedule = insert(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(schedule)
    }

    async fn schedule(&self, id: &ScheduleId) -> StoreResult<Option<Schedule>> {
        sqlx::query_as::<_, ScheduleRow>(concat!(
            "SELECT ",
            schedule_columns!(),
            " FROM schedules WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.reader().await?)
        .await?
        .map(ScheduleRow::decode)
        .transpose()
    }

    async fn schedules_of_project(
        &self,
        project_id: &ProjectId,
        origin: ScheduleOrigin,
        after: Option<&ScheduleId>,
        limit: u32,
    ) -> StoreResult<Vec<Schedule>> {
        let limit = if limit == 0 { 20 } else { limit.min(MAX_PAGE) };
        let rows = sqlx::query_as::<_, ScheduleRow>(concat!(
            "SELECT ",
            schedule_columns!(),
            " FROM schedules WHERE project_id = $1 AND origin = $2 \
             AND ($3 IS NULL OR ord > (SELECT ord FROM schedules WHERE id = $3)) \
             ORDER BY ord LIMIT CAST($4 AS BIGINT)"
        ))
        .bind(project_id)
        .bind(origin.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_rows(rows)
    }

    async fn all_schedules(&self) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query_as::<_, ScheduleRow>(concat!(
            "SELECT ",
            schedule_columns!(),
            " FROM schedules ORDER BY ord"
        ))
        .fetch_all(&mut *self.reader().await?)
        .await?;
        decode_rows(rows)
    }

    async fn update_schedule(
        &self,
        id: &ScheduleId,
        fields: NewSchedule,
        now: Millis,
    ) -> StoreResult<Option<Schedule>> {
        // A new cron line or time zone passes over every tick up to now: the new timetable
        // fires from its next tick, never for one the old timetable had.
        let changed = sqlx::query(
            "UPDATE schedules SET name = $2, description = $3, timetable = $4, \
             last_tick = CASE WHEN cron = $5 AND timezone = $6 THEN last_tick \
                              WHEN last_tick > $10 THEN last_tick ELSE $10 END, \
             cron = $5, timezone = $6, parameters = $7, actor_id = $8, branch = $9, \
             updated_at = $10 WHERE id = $1",
        )
        .bind(id)
        .bind(&fields.name)
        .bind(&fields.description)
        .bind(to_json(&fields.timetable, "schedule timetable")?)
        .bind(&fields.cron)
        .bind(&fields.timezone)
        .bind(to_json(&fields.parameters, "schedule parameters")?)
        .bind(&fields.actor_id)
        .bind(&fields.branch)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| insert_error(e, &fields.name))?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        self.schedule(id).await
    }

    async fn delete_schedule(&self, id: &ScheduleId) -> StoreResult<bool> {
        let changed = sqlx::query("DELETE FROM schedules WHERE id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await?
            .rows_affected();
        Ok(changed > 0)
    }

    async fn claim_schedule_tick(&self, id: &ScheduleId, tick: Millis) -> StoreResult<bool> {
        let changed =
            sqlx::query("UPDATE schedules SET last_tick = $2 WHERE id = $1 AND last_tick < $2")
                .bind(id)
                .bind(tick)
                .execute(&mut *self.writer().await?)
                .await?
                .rows_affected();
        Ok(changed > 0)
    }

    async fn replace_config_schedules(
        &self,
        project_id: &ProjectId,
        branch: &str,
        wanted: Vec<NewSchedule>,
        now: Millis,
    ) -> StoreResult<Vec<Schedule>> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query_as::<_, ScheduleRow>(concat!(
            "SELECT ",
            schedule_columns!(),
            " FROM schedules WHERE project_id = $1 AND origin = 'config' AND branch = $2 \
             ORDER BY ord"
        ))
        .bind(project_id)
        .bind(branch)
        .fetch_all(&mut *tx)
        .await?;
        let existing = decode_rows(rows)?;
        let same = |s: &Schedule, n: &NewSchedule| s.name == n.name && s.cron == n.cron;
        for old in existing
            .iter()
            .filter(|s| !wanted.iter().any(|n| same(s, n)))
        {
            sqlx::query("DELETE FROM schedules WHERE id = $1")
                .bind(&old.id)
                .execute(&mut *tx)
                .await?;
        }
        let mut kept = Vec::new();
        for new in wanted {
            if let Some(old) = existing.iter().find(|s| same(s, &new)) {
                // Kept as it is, with its last tick: a re-read never fires a tick again.
                if !kept.iter().any(|k: &Schedule| k.id == old.id) {
                    kept.push(old.clone());
                }
                continue;
            }
            let new = NewSchedule {
                project_id: project_id.clone(),
                origin: ScheduleOrigin::Config,
                branch: Some(branch.to_string()),
                ..new
            };
            if kept
                .iter()
                .any(|k| k.name == new.name && k.cron == new.cron)
            {
                continue;
            }
            kept.push(insert(&mut tx, new, now).await?);
        }
        tx.commit().await?;
        Ok(kept)
    }
}
