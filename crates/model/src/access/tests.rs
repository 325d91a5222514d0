use super::*;

#[test]
fn each_use_case_is_allowed_from_its_minimum_role_up() {
    use Role::*;
    use UseCase::*;
    // (use case, the roles allowed, in the order of Role::ALL)
    let table: &[(UseCase, [bool; 4])] = &[
        (ListHosts, [true, true, true, true]),
        (ListPlans, [true, true, true, true]),
        (ApproveChange, [false, false, true, true]),
        (CreateToken, [false, false, false, true]),
        (RevokeToken, [false, false, false, true]),
        (CreateUser, [false, false, false, true]),
        (ListChanges, [true, true, true, true]),
        (ShowSchedule, [true, true, true, true]),
        (CreatePlan, [false, true, true, true]),
        (StartRollout, [false, true, true, true]),
        (Assess, [false, true, true, true]),
        (OpenPostmortem, [false, true, true, true]),
        (ClosePostmortem, [false, true, true, true]),
        (ChangeOwnPassword, [true, true, true, true]),
        (Logout, [true, true, true, true]),
    ];
    for (use_case, expected) in table {
        let allowed = Role::ALL.map(|role| use_case.allowed(role));
        assert_eq!(&allowed, expected, "{use_case:?}");
    }
    assert!(Admin.includes(Viewer) && !Viewer.includes(Operator));
    let own: Vec<UseCase> = [ChangeOwnPassword, Logout, CreatePlan, ListChanges]
        .into_iter()
        .filter(|u| u.own_credentials())
        .collect();
    assert_eq!(own, [ChangeOwnPassword, Logout]);
}

#[test]
fn roles_parse_from_their_names_only() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
    }
    assert!("Admin".parse::<Role>().unwrap_err().contains("not a role"));
    assert!("root".parse::<Role>().is_err());
}

#[test]
fn lockout_after_n_failures_for_its_time_then_n_tries_again() {
    let rule = Lockout { max_failures: 3, lockout_seconds: 60 };
    let fresh = LoginRecord::default();
    // (failures so far, locked until, now) -> (record after a failure, locked at now?)
    type Case = (u32, Option<i64>, i64, LoginRecord, Option<i64>);
    let cases: &[Case] = &[
        (0, None, 100, LoginRecord { failures: 1, locked_until_unix: None }, None),
        (1, None, 100, LoginRecord { failures: 2, locked_until_unix: None }, None),
        (2, None, 100, LoginRecord { failures: 0, locked_until_unix: Some(160) }, None),
        // Locked: refused until 160, free again at 160.
        (0, Some(160), 159, LoginRecord { failures: 1, locked_until_unix: Some(160) }, Some(160)),
        (0, Some(160), 160, LoginRecord { failures: 1, locked_until_unix: Some(160) }, None),
    ];
    for (failures, until, now, after, locked) in cases {
        let record = LoginRecord { failures: *failures, locked_until_unix: *until };
        assert_eq!(rule.after_failure(&record, *now), *after, "{record:?} at {now}");
        assert_eq!(rule.locked(&record, *now), *locked, "{record:?} at {now}");
    }
    assert_eq!(rule.locked(&fresh, 0), None);
    // A rule of zero failures still allows one try before locking.
    let zero = Lockout { max_failures: 0, lockout_seconds: 10 };
    assert_eq!(zero.after_failure(&fresh, 5).locked_until_unix, Some(15));
}

#[test]
fn a_client_is_refused_after_its_failures_in_the_window_until_they_age_out() {
    let limit = RateLimit { max_failures: 2, window_seconds: 60 };
    // (failures at, now, allowed)
    let cases: &[(&[i64], i64, bool)] = &[
        (&[], 0, true),
        (&[100], 100, true),
        (&[100, 130], 130, false),
        (&[100, 130], 159, false),
        // The first is 60 s old at 160: it no longer counts.
        (&[100, 130], 160, true),
        (&[10, 100, 130], 140, false),
    ];
    for (failures, now, allowed) in cases {
        assert_eq!(limit.allows(failures, *now), *allowed, "{failures:?} at {now}");
    }
}

#[test]
fn an_oidc_user_gets_the_highest_role_of_their_mapped_groups_and_none_without_one() {
    use Role::*;
    let mapping = GroupRoles {
        roles: vec![("cab".into(), Approver), ("ops".into(), Operator), ("all".into(), Viewer)],
    };
    // (the user's groups, the role)
    let cases: &[(&[&str], Option<Role>)] = &[
        (&["ops"], Some(Operator)),
        (&["ops", "cab"], Some(Approver)),
        (&["all", "ops"], Some(Operator)),
        (&["all"], Some(Viewer)),
        (&["finance"], None),
        (&["CAB"], None),
        (&[], None),
    ];
    for (groups, role) in cases {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        assert_eq!(mapping.role(&groups), *role, "{groups:?}");
    }
    assert_eq!(GroupRoles::default().role(&["ops".into()]), None);
}
