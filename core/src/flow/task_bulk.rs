//! `POST /tasks/cancel` and `DELETE /tasks`: not served yet. Answering them needs the
//! matching client tasks mapped to node task uids per node and one client task of
//! type `taskCancelation`/`taskDeletion` registered; until then the routes answer a
//! clear error naming them rather than a wrong answer.

use std::sync::Arc;

use super::{Fixed, Response};
use crate::error::{Code, MeiliError};
use crate::shard_map::ShardMap;

pub(super) struct TaskBulk;

impl TaskBulk {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(_map: Arc<ShardMap>, delete: bool, _path: &str) -> Fixed {
        let what = if delete { "DELETE /tasks" } else { "POST /tasks/cancel" };
        Fixed(Response::error(&MeiliError::new(Code::MiroirUnsupportedRoute, format!("Miroir does not support `{what}` yet."))))
    }
}
