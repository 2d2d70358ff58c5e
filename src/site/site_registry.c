/*
 * site_registry.c — every workflow the job engine can run, by job kind.
 * A new workflow is one file (wf_<name>.c, see wf_request.c), one line
 * here and one job kind in bacsc/site.h.
 */
#include <stddef.h>

#include "bacsc/site.h"
#include "site_workflow.h"

extern const site_workflow site_wf_discover, site_wf_request, site_wf_import,
    site_wf_trust_add, site_wf_trust_remove, site_wf_mode, site_wf_renew, site_wf_crl_push;

static const site_workflow *const WORKFLOWS[] = {
    &site_wf_discover, &site_wf_request,      &site_wf_import,
    &site_wf_trust_add, &site_wf_trust_remove, &site_wf_mode,
    &site_wf_renew,     &site_wf_crl_push,
};

const site_workflow *site_workflow_of(int kind)
{
    for (size_t i = 0; i < sizeof WORKFLOWS / sizeof WORKFLOWS[0]; i++)
        if (WORKFLOWS[i]->kind == kind)
            return WORKFLOWS[i];
    return NULL;
}

const char *bacsc_site_job_kind_name(int kind)
{
    const site_workflow *wf = site_workflow_of(kind);
    return wf ? wf->name : "?";
}
