/*
 * wf_common.c — the steps every workflow that changes a device starts with
 * (docs/security.md "Devices"):
 *
 *   login     DeviceCommunicationControl(enable, password): a device with a
 *             password accepts changes to its Network Port and File objects
 *             only from a source that gave it
 *   discard   Network Port Command discard-changes: whatever someone else
 *             staged is dropped, so activation applies only what this job
 *             wrote
 */
#include <stdio.h>
#include <string.h>

#include "bacsc/device.h"
#include "bacsc/error.h"
#include "site_workflow.h"

bool site_password_refused(site_item *it, const char *what)
{
    const bacsc_client_result *r = &it->res;
    if (r->outcome != BACSC_CLIENT_ERROR || r->error_class != BACSC_ERROR_CLASS_SECURITY ||
        r->error_code != BACSC_EC_PASSWORD_FAILURE)
        return false;
    site_fail_msg(it,
                  "%s: device refused: security/password-failure (give the devices' password "
                  "with --password-file; after repeated failures a device refuses its source "
                  "for a while)",
                  what);
    return true;
}

int site_login_issue(site_item *it)
{
    const char *pw = it->r->o.password;
    if (!pw || !*pw)
        return H_NEXT; /* a device without a password needs no session */
    return site_req_login(it);
}

int site_login_result(site_item *it)
{
    if (it->res.outcome == BACSC_CLIENT_SIMPLE_ACK)
        return H_NEXT;
    site_password_refused(it, "login");
    return H_FAIL;
}

int site_discard_issue(site_item *it)
{
    if (it->dev.sc_port == BACSC_SITE_NONE)
        return H_NEXT;
    return site_req_port_command(it, BACSC_NPC_DISCARD_CHANGES);
}

int site_discard_result(site_item *it)
{
    if (it->res.outcome == BACSC_CLIENT_SIMPLE_ACK)
        return H_NEXT;
    if (it->res.outcome == BACSC_CLIENT_ERROR &&
        it->res.error_code == BACSC_EC_WRITE_ACCESS_DENIED)
        site_fail_msg(it, "discard-changes: device refused: property/write-access-denied (no "
                          "commissioning session: give the devices' password with "
                          "--password-file, or the commissioning lock is on)");
    return H_FAIL;
}
