//! A panel with a login, for the host's session support (contract 0.2.0): `POST /login`
//! with JSON `{"username", "password"}` answers `{"success": true, "result": {"token",
//! "expires_in"}}` (the Rocket.net shape); every other path needs `Authorization: Bearer
//! <token>` and echoes what it received.

use crate::server::{Panel, Request, Response};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct SessionPanel {
    pub username: String,
    pub password: String,
    /// Tokens issued and still valid.
    pub valid: Vec<String>,
    pub logins: u32,
    /// Lifetime announced in the login answer.
    pub expires_in: u64,
    /// Revokes every token once, after this many authenticated answers (a token that
    /// expired early).
    pub revoke_after: Option<u32>,
    /// Paths under this prefix answer 401 to every token (a scope the account lacks).
    pub out_of_scope: Option<String>,
    served: u32,
}

impl SessionPanel {
    pub fn new(username: &str, password: &str) -> Self {
        SessionPanel {
            username: username.into(),
            password: password.into(),
            valid: vec![],
            logins: 0,
            expires_in: 3600,
            revoke_after: None,
            out_of_scope: None,
            served: 0,
        }
    }
}

impl Panel for SessionPanel {
    fn handle(&mut self, request: &Request) -> Response {
        if request.path == "/login" {
            let body: Value = request.json().unwrap_or(Value::Null);
            if body["username"] != self.username.as_str()
                || body["password"] != self.password.as_str()
            {
                return Response::json(
                    401,
                    &json!({"success": false, "errors": [{"message": "Invalid credentials"}]}),
                );
            }
            self.logins += 1;
            let token = format!("session-token-{}", self.logins);
            self.valid.push(token.clone());
            return Response::json(
                200,
                &json!({"success": true, "errors": [], "result": {"token": token, "expires_in": self.expires_in}}),
            );
        }
        let token = request
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or("");
        let scoped = self
            .out_of_scope
            .as_deref()
            .is_some_and(|p| request.path.starts_with(p));
        if scoped || !self.valid.iter().any(|t| t == token) {
            return Response::json(
                401,
                &json!({"success": false, "errors": [{"message": "Unauthenticated."}]}),
            );
        }
        self.served += 1;
        if self.revoke_after.is_some_and(|n| self.served >= n) {
            self.valid.clear();
            self.revoke_after = None;
        }
        Response::json(
            200,
            &json!({"success": true, "result": {"path": request.path}}),
        )
    }

    fn snapshot(&self) -> Value {
        json!({ "panel": "session", "logins": self.logins })
    }
}
