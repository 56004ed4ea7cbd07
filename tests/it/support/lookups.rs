//! Requests of the lookups, and walks through every page of them.

use access_service::grpc::pb;

use super::TestApp;

/// LookupAccounts of one page.
pub fn lookup_accounts(
    user: &str,
    permission: &str,
    page_size: i32,
    page_token: &str,
) -> pb::LookupAccountsRequest {
    pb::LookupAccountsRequest {
        user_id: user.into(),
        permission: permission.into(),
        page_size,
        page_token: page_token.into(),
        ..Default::default()
    }
}

/// LookupResources with no two-factor.
pub fn lookup_resources(
    user: &str,
    account: &str,
    permission: &str,
    resource_type: pb::ResourceType,
) -> pb::LookupResourcesRequest {
    pb::LookupResourcesRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        resource_type: resource_type.into(),
        ..Default::default()
    }
}

/// LookupMembers of one page, on a resource if named.
pub fn lookup_members(
    account: &str,
    permission: &str,
    resource: Option<(pb::ResourceType, &str)>,
    page_size: i32,
    page_token: &str,
) -> pb::LookupMembersRequest {
    pb::LookupMembersRequest {
        account_id: account.into(),
        permission: permission.into(),
        resource: resource.map(|(resource_type, id)| pb::Resource {
            r#type: resource_type.into(),
            id: id.into(),
        }),
        page_size,
        page_token: page_token.into(),
        ..Default::default()
    }
}

/// Every row of a paged listing: `page` answers the rows and the next
/// token of the page a token names; each page holds at most `page_size`.
async fn walk<Row, Page>(page_size: i32, mut page: impl FnMut(String) -> Page) -> Vec<Row>
where
    Page: Future<Output = (Vec<Row>, String)>,
{
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let (rows, next) = page(token).await;
        assert!(
            page_size == 0 || rows.len() <= page_size as usize,
            "a page holds at most page_size entries"
        );
        all.extend(rows);
        if next.is_empty() {
            return all;
        }
        token = next;
    }
}

impl TestApp {
    /// Every entry of a LookupAccounts, walked `page_size` at a time.
    pub async fn all_accounts_where(&self, request: pb::LookupAccountsRequest) -> Vec<pb::AccountLookup> {
        walk(request.page_size, |page_token| {
            let mut client = self.client.clone();
            let request = pb::LookupAccountsRequest {
                page_token,
                ..request.clone()
            };
            async move {
                let page = client
                    .lookup_accounts(request)
                    .await
                    .expect("LookupAccounts answers")
                    .into_inner();
                (page.accounts, page.next_page_token)
            }
        })
        .await
    }

    /// Every entry of a LookupMembers, walked `page_size` at a time.
    pub async fn all_members_who(&self, request: pb::LookupMembersRequest) -> Vec<pb::MemberLookup> {
        walk(request.page_size, |page_token| {
            let mut client = self.client.clone();
            let request = pb::LookupMembersRequest {
                page_token,
                ..request.clone()
            };
            async move {
                let page = client
                    .lookup_members(request)
                    .await
                    .expect("LookupMembers answers")
                    .into_inner();
                (page.members, page.next_page_token)
            }
        })
        .await
    }

    /// The filter LookupResources answers.
    pub async fn resource_filter(&self, request: pb::LookupResourcesRequest) -> pb::LookupResourcesResponse {
        self.client
            .clone()
            .lookup_resources(request)
            .await
            .expect("LookupResources answers")
            .into_inner()
    }
}
