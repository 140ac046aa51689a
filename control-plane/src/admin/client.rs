//! The admin API's client, for the `miroir` subcommands. Blocking (ureq): a command
//! makes one or two calls. A follower's "not the leader" answer is followed once.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no admin token: pass --admin-token or set MIROIR_ADMIN_TOKEN")]
    NoToken,
    #[error("cannot reach the control plane at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{status} {code}: {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the control plane answered something that is not JSON: {0}")]
    NotJson(String),
}

pub struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(ClientError::NoToken)?;
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        Ok(Client { base: base.trim_end_matches('/').to_owned(), token, agent })
    }

    pub fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call("GET", path, None)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        self.call(method, path, body)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        match self.call_at(&self.base, method, path, body.clone()) {
            Err(ClientError::Refused { status: 503, code, message }) if code == "miroir_not_leader" => {
                let leader = message.rsplit(' ').next().unwrap_or_default().to_owned();
                if leader.is_empty() || leader == "unknown" {
                    return Err(ClientError::Refused { status: 503, code, message });
                }
                self.call_at(&format!("http://{leader}"), method, path, body)
            }
            other => other,
        }
    }

    fn call_at(&self, base: &str, method: &str, path: &str, body: Option<Value>) -> Result<Value, ClientError> {
        let url = format!("{base}{path}");
        let request = self.agent.request(method, &url).set("Authorization", &format!("Bearer {}", self.token));
        let answer = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match answer {
            Ok(response) => {
                let text = response.into_string().map_err(|e| ClientError::NotJson(e.to_string()))?;
                serde_json::from_str(&text).map_err(|_| ClientError::NotJson(text))
            }
            Err(ureq::Error::Status(status, response)) => {
                let text = response.into_string().unwrap_or_default();
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let code = value["code"].as_str().unwrap_or("unknown").to_owned();
                let message = value["message"].as_str().map(str::to_owned).unwrap_or(text);
                Err(ClientError::Refused { status, code, message })
            }
            Err(e) => Err(ClientError::Unreachable { url, message: e.to_string() }),
        }
    }
}
