//! `/v1/models` and `/v1/models/{id}` bodies.

use serde::Serialize;

use super::to_vec;
use crate::ModelInfo;

#[derive(Serialize)]
struct ModelOut<'a> {
    id: &'a str,
    object: &'static str,
    created: i64,
    owned_by: &'a str,
}

impl<'a> From<&'a ModelInfo> for ModelOut<'a> {
    fn from(m: &'a ModelInfo) -> Self {
        Self {
            id: &m.id,
            object: "model",
            created: m.created,
            owned_by: &m.owned_by,
        }
    }
}

#[derive(Serialize)]
struct ModelList<'a> {
    object: &'static str,
    data: Vec<ModelOut<'a>>,
}

/// `{"object":"list","data":[{"id","object":"model","created","owned_by"}]}`.
pub fn render_model_list(models: &[ModelInfo]) -> Vec<u8> {
    to_vec(&ModelList {
        object: "list",
        data: models.iter().map(ModelOut::from).collect(),
    })
}

/// `{"id","object":"model","created","owned_by"}`.
pub fn render_model(model: &ModelInfo) -> Vec<u8> {
    to_vec(&ModelOut::from(model))
}
