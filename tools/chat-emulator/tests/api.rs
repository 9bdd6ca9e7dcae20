//! The emulator over HTTP, as chatsync's clients meet it: auth, shapes, errors, rate limits,
//! faults and signed webhooks.

use serde_json::{Value, json};

struct Running {
    base: String,
    http: reqwest::Client,
}

async fn start() -> Running {
    let emulator = chat_emulator::Emulator::default();
    emulator
        .seed(&json!({
            "intercom": {
                "credentials": ["ic-token"],
                "contacts": [{"id": "6543", "email": "ada@example.org", "role": "user"}],
                "admins": [{"id": "991", "name": "Grace", "email": "grace@example.com"}],
                "teams": [{"id": "5550123", "name": "Billing team", "admin_ids": [991]}],
            },
            "tidio": {
                "credentials": ["ci_1:cs_1"],
                "contacts": [{"id": "c-1", "email": "Mae@Example.org"}, {"id": "c-2", "email": "x@example.org"}],
                "operators": [{"id": "op-1", "email": "sam@example.com", "name": "Sam"}],
            },
            "respondio": {
                "credentials": ["rio-token"],
                "contacts": [{"id": 7, "firstName": "Kat", "email": "kat@example.net"}],
                "messages": [
                    {"messageId": 1, "contactId": 7, "traffic": "incoming", "message": {"type": "text", "text": "one"}},
                    {"messageId": 2, "contactId": 7, "traffic": "outgoing", "message": {"type": "text", "text": "two"}},
                    {"messageId": 3, "contactId": 7, "traffic": "incoming", "message": {"type": "text", "text": "three"}},
                    {"messageId": 4, "contactId": 8, "traffic": "incoming", "message": {"type": "text", "text": "other"}},
                ],
                "users": [{"id": 501, "firstName": "Sam", "email": "sam@example.com"}],
            },
            "cloudcx": {"credentials": ["cid:csecret:agent@example.com:pw"]},
        }))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = chat_emulator::spawn(listener, emulator).unwrap();
    Running {
        base,
        http: reqwest::Client::new(),
    }
}

impl Running {
    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/__emulator/{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

const TIDIO: [(&str, &str); 3] = [
    ("x-tidio-openapi-client-id", "ci_1"),
    ("x-tidio-openapi-client-secret", "cs_1"),
    ("accept", "application/json; version=1"),
];

#[tokio::test]
async fn intercom_answers_with_its_shapes_errors_and_rate_headers() {
    let e = start().await;
    let auth = [
        ("authorization", "Bearer ic-token"),
        ("intercom-version", "2.11"),
    ];
    let (status, headers, body) = e.get("/intercom/contacts/6543", &auth).await;
    assert_eq!(status, 200);
    assert_eq!(body["type"], "contact");
    assert_eq!(body["email"], "ada@example.org");
    let reset: i64 = headers["x-ratelimit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000, "a UNIX time, not seconds to wait");
    assert_eq!(headers["x-ratelimit-limit"], "1666");

    let (status, _, body) = e.get("/intercom/admins/991", &auth).await;
    assert_eq!(
        (status, body["email"].as_str()),
        (200, Some("grace@example.com"))
    );
    let (status, _, body) = e.get("/intercom/admins/0", &auth).await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "error.list");
    assert_eq!(body["errors"][0]["code"], "admin_not_found");
    let (status, _, body) = e.get("/intercom/teams/5550123", &auth).await;
    assert_eq!(
        (status, body["type"].as_str(), body["name"].as_str()),
        (200, Some("team"), Some("Billing team"))
    );
    let (_, _, list) = e.get("/intercom/teams", &auth).await;
    assert_eq!(list["type"], "team.list");
    assert_eq!(list["teams"][0]["id"], "5550123");
    let (status, _, body) = e.get("/intercom/conversations/1", &auth).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (404, Some("not_found"))
    );

    let (status, headers, body) = e
        .get(
            "/intercom/contacts/6543",
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["code"], "unauthorized");
    assert!(
        headers.get("x-ratelimit-limit").is_none(),
        "only authenticated answers carry them"
    );
    let (status, _, body) = e
        .get(
            "/intercom/contacts/6543",
            &[
                ("authorization", "Bearer ic-token"),
                ("intercom-version", "9.9"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (400, Some("intercom_version_invalid"))
    );
}

#[tokio::test]
async fn tidio_needs_both_keys_and_the_version_and_counts_its_minute() {
    let e = start().await;
    let (status, headers, body) = e.get("/tidio/contacts?email=mae@example.org", &TIDIO).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(body["contacts"][0]["id"], "c-1");
    assert_eq!(body["meta"]["cursor"], Value::Null);
    assert_eq!(headers["x-ratelimit-limit"], "120");
    let (_, _, body) = e.get("/tidio/operators", &TIDIO).await;
    assert_eq!(body["operators"][0]["email"], "sam@example.com");

    let (status, _, body) = e.get("/tidio/operators", &TIDIO[..2]).await;
    assert_eq!(status, 400, "no version: {body}");
    let (status, _, body) = e.get("/tidio/operators", &[TIDIO[0], TIDIO[2]]).await;
    assert_eq!(status, 401);
    assert!(body["errors"][0]["code"].is_string());
    let (status, _, _) = e.get("/tidio/contacts?cursor=zzz", &TIDIO).await;
    assert_eq!(status, 400);

    e.admin(
        "limits",
        json!({"platform": "tidio", "limit": 1, "window_seconds": 60}),
    )
    .await;
    assert_eq!(e.get("/tidio/operators", &TIDIO).await.0, 200);
    let (status, headers, body) = e.get("/tidio/operators", &TIDIO).await;
    assert_eq!(status, 429);
    assert_eq!(body["errors"][0]["code"], "too_many_requests");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
}

#[tokio::test]
async fn tidio_creates_always_anew_and_updates_by_id_with_its_validation() {
    let e = start().await;
    let post = |body: Value| e.send(reqwest::Method::POST, "/tidio/contacts", &TIDIO, body);
    // distinct_id and one of the person's fields are required
    let (status, body) = post(json!({"email": "new@example.org"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "validation_error");
    let (status, _) =
        post(json!({"distinct_id": "x".repeat(56), "email": "new@example.org"})).await;
    assert_eq!(status, 422);
    let (status, _) = post(json!({"distinct_id": "003A"})).await;
    assert_eq!(status, 422);
    // a create never overwrites: the same e-mail twice is two contacts
    let new = json!({"distinct_id": "003A", "email": "mae@example.org", "first_name": "Mae",
        "properties": [{"name": "plan", "value": "gold"}]});
    let (status, first) = post(new.clone()).await;
    assert_eq!(status, 200, "{first}");
    let (_, second) = post(new).await;
    assert_ne!(first["id"], second["id"]);
    let (_, _, listed) = e.get("/tidio/contacts?email=mae@example.org", &TIDIO).await;
    assert_eq!(listed["contacts"].as_array().map(Vec::len), Some(3));
    // an update by id: absent untouched, null clears a property
    let id = first["id"].as_str().unwrap();
    let path = format!("/tidio/contacts/{id}");
    let (status, _) = e
        .send(
            reqwest::Method::PATCH,
            &path,
            &TIDIO,
            json!({"last_name": "Jemison", "properties": [{"name": "plan", "value": null}]}),
        )
        .await;
    assert_eq!(status, 204);
    let (_, _, listed) = e.get("/tidio/contacts?email=mae@example.org", &TIDIO).await;
    let updated = listed["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(updated["first_name"], "Mae");
    assert_eq!(updated["last_name"], "Jemison");
    assert_eq!(updated["properties"], json!([]));
    // unknown contacts, fields and (once the project defines them) properties are refused
    let (status, _) = e
        .send(
            reqwest::Method::PATCH,
            "/tidio/contacts/nope",
            &TIDIO,
            json!({"first_name": "A"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = e
        .send(
            reqwest::Method::PATCH,
            &path,
            &TIDIO,
            json!({"nickname": "A"}),
        )
        .await;
    assert_eq!(status, 422);
    e.admin(
        "seed",
        json!({"tidio": {"properties": [{"id": "plan", "name": "plan"}]}}),
    )
    .await;
    let (status, body) = e
        .send(
            reqwest::Method::PATCH,
            &path,
            &TIDIO,
            json!({"properties": [{"name": "tier", "value": "1"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    // and without the keys nothing is written
    let (status, _) = e
        .send(
            reqwest::Method::POST,
            "/tidio/contacts",
            &TIDIO[..2],
            json!({"distinct_id": "003B", "email": "b@example.org"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn respondio_finds_contacts_by_identifier_and_pages_their_messages() {
    let e = start().await;
    let auth = [("authorization", "Bearer rio-token")];
    for id in ["id:7", "email:KAT@example.net"] {
        let (status, _, body) = e.get(&format!("/respondio/v2/contact/{id}"), &auth).await;
        assert_eq!((status, body["id"].as_u64()), (200, Some(7)), "{id}");
    }
    let (status, _, body) = e.get("/respondio/v2/contact/7", &auth).await;
    assert_eq!(status, 400, "a bare id is not an identifier: {body}");
    let (status, _, body) = e.get("/respondio/v2/contact/id:9", &auth).await;
    assert_eq!(body, json!({"code": 404, "message": "Not Found"}));
    assert_eq!(status, 404);

    let (_, _, page) = e
        .get("/respondio/v2/contact/id:7/message/list?limit=2", &auth)
        .await;
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["three", "two"], "newest first, this contact's only");
    let next = page["pagination"]["next"].as_str().unwrap();
    assert!(next.contains("cursorId=2"), "{next}");
    let (_, _, rest) = e
        .get(
            "/respondio/v2/contact/id:7/message/list?limit=2&cursorId=2",
            &auth,
        )
        .await;
    assert_eq!(rest["items"][0]["message"]["text"], "one");
    assert_eq!(rest["pagination"]["next"], "");
    let (status, _, _) = e
        .get("/respondio/v2/contact/id:7/message/list?limit=101", &auth)
        .await;
    assert_eq!(status, 400);
    let (status, _, one) = e.get("/respondio/v2/contact/id:7/message/4", &auth).await;
    assert_eq!(status, 404, "another contact's message: {one}");
    let (_, _, user) = e.get("/respondio/v2/space/user/501", &auth).await;
    assert_eq!(user["email"], "sam@example.com");
    let (status, _, body) = e.get("/respondio/v2/space/user", &[]).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("UN_AUTHORIZED"))
    );
}

#[tokio::test]
async fn faults_fire_on_their_rhythm_and_calls_are_counted() {
    let e = start().await;
    let auth = [("authorization", "Bearer rio-token")];
    let set = e
        .admin("faults", json!({"error": "rate_limited", "platform": "respondio", "rate": 0.5, "retry_after": 7}))
        .await;
    assert_eq!(set["active_faults"], 1);
    let first = e.get("/respondio/v2/contact/id:7", &auth).await;
    let (status, headers, body) = e.get("/respondio/v2/contact/id:7", &auth).await;
    assert_eq!(first.0, 200);
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(body["code"], 429);
    e.admin(
        "faults",
        json!({"faults": [
            {"error": "malformed", "platform": "intercom", "count": 1},
            {"error": "server_error", "platform": "tidio", "count": 1}
        ]}),
    )
    .await;
    let (status, _, body) = e
        .get(
            "/intercom/contacts/6543",
            &[("authorization", "Bearer ic-token")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.is_string(), "not JSON: {body}");
    assert_eq!(e.get("/tidio/operators", &TIDIO).await.0, 503);
    assert_eq!(
        e.get("/tidio/operators", &TIDIO).await.0,
        200,
        "count spent"
    );
    let refused = e
        .admin("faults", json!({"error": "server_error", "rate": 2}))
        .await;
    assert!(refused["error"].as_str().unwrap().contains("rate"));

    let stats: Value = reqwest::get(format!("{}/__emulator/stats", e.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["calls"]["respondio"], 2);
    assert_eq!(stats["calls"]["tidio"], 2);
    assert_eq!(stats["by_route"]["tidio GET /tidio/operators"], 2);
    e.admin("reset", json!({})).await;
    assert_eq!(
        e.get("/tidio/operators", &TIDIO).await.0,
        401,
        "credentials gone"
    );
}

#[tokio::test]
async fn a_refused_seed_changes_nothing_and_cloudcx_grants_only_its_users() {
    let e = start().await;
    let refused = e
        .admin(
            "seed",
            json!({"tidio": {"contacts": [{"id": "c-9"}]}, "slack": {}}),
        )
        .await;
    assert!(refused["error"].as_str().unwrap().contains("slack"));
    let (_, _, body) = e.get("/tidio/contacts", &TIDIO).await;
    assert_eq!(body["contacts"].as_array().unwrap().len(), 2);

    let form = |secret: &str| {
        format!(
            "grant_type=password&client_id=cid&client_secret={secret}&username=agent%40example.com&password=pw"
        )
    };
    let token = |body: String| {
        e.http
            .post(format!("{}/cloudcx/oauth/token", e.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let ok = token(form("csecret")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let ok: Value = ok.json().await.unwrap();
    assert!(ok["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    let bad = token(form("nope")).await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"], "invalid_grant");
}
