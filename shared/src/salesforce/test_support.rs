//! Test helpers: Salesforce answers in the shapes the REST API documents, and a throwaway key.
//!
//! The answers live in `testdata/answers/`, written for these tests from the public
//! documentation (every id, org, name and token in them is invented). They are compiled in, so a
//! fresh clone needs nothing beside the repository. The emulator's conformance suite
//! (`make conformance`) separately checks the emulator against captured real answers.

/// RSA key pair generated for these tests only; it signs nothing outside them.
pub(crate) const TEST_PRIVATE_KEY: &str = include_str!("testdata/jwt-test-key.pem");
pub(crate) const TEST_PUBLIC_KEY: &str = include_str!("testdata/jwt-test-key.pub.pem");

/// Salesforce answer bodies, one per documented shape.
pub(crate) mod answers {
    /// Any REST call with an expired access token: HTTP 401, an error array with
    /// `INVALID_SESSION_ID` and the documented "Session expired or invalid" message.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_refresh_token_oauth.htm>
    pub(crate) const INVALID_SESSION_401: &str =
        include_str!("testdata/answers/invalid_session_401.json");

    /// A resource (here an sObject type) that does not exist: HTTP 404, `NOT_FOUND`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm>
    pub(crate) const NOT_FOUND_404: &str = include_str!("testdata/answers/not_found_404.json");

    /// An upsert by external id that matches more than one record: HTTP 300, a JSON array of
    /// the matching records' URLs.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm>
    pub(crate) const UPSERT_300_MULTIPLE_MATCHES: &str =
        include_str!("testdata/answers/upsert_300_multiple_matches.json");

    /// A save blocked by a duplicate rule: HTTP 400, `DUPLICATES_DETECTED` with the
    /// DuplicateResult (rule, entity type, match results and their records). The detail's key is
    /// spelt `duplicateResut`, as REST answers of v50/v51 orgs spell it; the parser reads both.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_duplicateresult.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_matchresult.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_matchrecord.htm>
    pub(crate) const DUPLICATES_DETECTED_400: &str =
        include_str!("testdata/answers/duplicates_detected_400.json");

    /// `POST /composite` without allOrNone: one query subrequest answers 200, the other 400
    /// `INVALID_TYPE`; the top level is 200 with `compositeResponse[{body, httpHeaders,
    /// httpStatusCode, referenceId}]`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite.htm>
    pub(crate) const COMPOSITE_PARTIAL_FAILURE_INVALID_TYPE: &str =
        include_str!("testdata/answers/composite_partial_failure_invalid_type.json");

    /// `POST /composite` whose single subrequest answers 404 `NOT_FOUND`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite.htm>
    pub(crate) const COMPOSITE_SUBREQUEST_404: &str =
        include_str!("testdata/answers/composite_subrequest_404.json");

    /// `PATCH /composite/sobjects/Account/Id`: HTTP 200 and one UpsertResult
    /// (`id`, `success`, `errors`, `created`) per record.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm>
    pub(crate) const COLLECTIONS_UPSERT_CREATED: &str =
        include_str!("testdata/answers/collections_upsert_created.json");

    /// `POST /sobjects/Account/`: HTTP 201 and a SaveResult without `created`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm>
    pub(crate) const SOBJECT_CREATE_201: &str =
        include_str!("testdata/answers/sobject_create_201.json");

    /// `GET /limits`: every limit as `{Max, Remaining}`, with per-connected-app entries of the
    /// same shape under `DailyApiRequests`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_limits.htm>
    pub(crate) const LIMITS: &str = include_str!("testdata/answers/limits.json");

    /// The token endpoint's success body for the refresh-token flow: `access_token`,
    /// `signature`, `scope`, `instance_url`, `id`, `token_type`, `issued_at`, and no `expires_in`
    /// (no `refresh_token` either, as the org does not rotate it).
    /// <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_refresh_token_oauth.htm>
    pub(crate) const OAUTH_TOKEN_SUCCESS: &str =
        include_str!("testdata/answers/oauth_token_success.json");

    /// The token endpoint refusing a revoked or expired refresh token: HTTP 400,
    /// `{error: "invalid_grant", error_description}`.
    /// <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm>
    pub(crate) const OAUTH_REFRESH_ERROR_INVALID_GRANT: &str =
        include_str!("testdata/answers/oauth_refresh_error_invalid_grant.json");

    /// `GET /query?q=…` with more records than one batch: `totalSize`, `done: false`,
    /// `nextRecordsUrl` and the first batch of `records` (each with `attributes{type,url}`).
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm>
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm>
    pub(crate) const QUERY_PAGINATED_FIRST_PAGE: &str =
        include_str!("testdata/answers/query_paginated_first_page.json");

    /// `GET /query?q=…` answered in one batch: `done: true`, no `nextRecordsUrl`.
    /// <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm>
    pub(crate) const QUERY_TWO_RECORDS: &str =
        include_str!("testdata/answers/query_two_records.json");
}
