/*
 * bacnet_names.c — names of BACnet enumerations (bacsc/apdu.h, services.h):
 * PDU types, services, object types, property identifiers, error classes and
 * codes, reject/abort reasons, segmentation, with case-insensitive parsing.
 *
 * Tables are indexed by the enumeration value (O(1) lookup); parsing scans a
 * table linearly, which is fine for CLI use.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const pdu_names[8] = {
    "confirmed-request", "unconfirmed-request", "simple-ack", "complex-ack",
    "segment-ack", "error", "reject", "abort"};

static const char *const confirmed_names[BACSC_CONFIRMED_SERVICE_COUNT] = {
    "acknowledge-alarm", "confirmed-cov-notification", "confirmed-event-notification",
    "get-alarm-summary", "get-enrollment-summary", "subscribe-cov", "atomic-read-file",
    "atomic-write-file", "add-list-element", "remove-list-element", "create-object",
    "delete-object", "read-property", "read-property-conditional", "read-property-multiple",
    "write-property", "write-property-multiple", "device-communication-control",
    "confirmed-private-transfer", "confirmed-text-message", "reinitialize-device", "vt-open",
    "vt-close", "vt-data", "authenticate", "request-key", "read-range",
    "life-safety-operation", "subscribe-cov-property", "get-event-information",
    "subscribe-cov-property-multiple", "confirmed-cov-notification-multiple",
    "confirmed-audit-notification", "audit-log-query"};

static const char *const unconfirmed_names[BACSC_UNCONFIRMED_SERVICE_COUNT] = {
    "i-am", "i-have", "unconfirmed-cov-notification", "unconfirmed-event-notification",
    "unconfirmed-private-transfer", "unconfirmed-text-message", "time-synchronization",
    "who-has", "who-is", "utc-time-synchronization", "write-group",
    "unconfirmed-cov-notification-multiple", "unconfirmed-audit-notification", "who-am-i",
    "you-are"};

static const char *const object_names[] = {
    [0] = "analog-input",
    [1] = "analog-output",
    [2] = "analog-value",
    [3] = "binary-input",
    [4] = "binary-output",
    [5] = "binary-value",
    [6] = "calendar",
    [7] = "command",
    [8] = "device",
    [9] = "event-enrollment",
    [10] = "file",
    [11] = "group",
    [12] = "loop",
    [13] = "multi-state-input",
    [14] = "multi-state-output",
    [15] = "notification-class",
    [16] = "program",
    [17] = "schedule",
    [18] = "averaging",
    [19] = "multi-state-value",
    [20] = "trend-log",
    [21] = "life-safety-point",
    [22] = "life-safety-zone",
    [23] = "accumulator",
    [24] = "pulse-converter",
    [25] = "event-log",
    [26] = "global-group",
    [27] = "trend-log-multiple",
    [28] = "load-control",
    [29] = "structured-view",
    [30] = "access-door",
    [31] = "timer",
    [32] = "access-credential",
    [33] = "access-point",
    [34] = "access-rights",
    [35] = "access-user",
    [36] = "access-zone",
    [37] = "credential-data-input",
    [38] = "network-security",
    [39] = "bitstring-value",
    [40] = "characterstring-value",
    [41] = "datepattern-value",
    [42] = "date-value",
    [43] = "datetimepattern-value",
    [44] = "datetime-value",
    [45] = "integer-value",
    [46] = "large-analog-value",
    [47] = "octetstring-value",
    [48] = "positive-integer-value",
    [49] = "timepattern-value",
    [50] = "time-value",
    [51] = "notification-forwarder",
    [52] = "alert-enrollment",
    [53] = "channel",
    [54] = "lighting-output",
    [55] = "binary-lighting-output",
    [56] = "network-port",
    [57] = "elevator-group",
    [58] = "escalator",
    [59] = "lift",
    [60] = "staging",
    [61] = "audit-log",
    [62] = "audit-reporter",
    [63] = "color",
    [64] = "color-temperature",
};

static const char *const property_names[512] = {
    [0] = "acked-transitions",
    [1] = "ack-required",
    [2] = "action",
    [3] = "action-text",
    [4] = "active-text",
    [5] = "active-vt-sessions",
    [6] = "alarm-value",
    [7] = "alarm-values",
    [8] = "all",
    [9] = "all-writes-successful",
    [10] = "apdu-segment-timeout",
    [11] = "apdu-timeout",
    [12] = "application-software-version",
    [13] = "archive",
    [14] = "bias",
    [15] = "change-of-state-count",
    [16] = "change-of-state-time",
    [17] = "notification-class",
    [19] = "controlled-variable-reference",
    [20] = "controlled-variable-units",
    [21] = "controlled-variable-value",
    [22] = "cov-increment",
    [23] = "date-list",
    [24] = "daylight-savings-status",
    [25] = "deadband",
    [26] = "derivative-constant",
    [27] = "derivative-constant-units",
    [28] = "description",
    [29] = "description-of-halt",
    [30] = "device-address-binding",
    [31] = "device-type",
    [32] = "effective-period",
    [33] = "elapsed-active-time",
    [34] = "error-limit",
    [35] = "event-enable",
    [36] = "event-state",
    [37] = "event-type",
    [38] = "exception-schedule",
    [39] = "fault-values",
    [40] = "feedback-value",
    [41] = "file-access-method",
    [42] = "file-size",
    [43] = "file-type",
    [44] = "firmware-revision",
    [45] = "high-limit",
    [46] = "inactive-text",
    [47] = "in-process",
    [48] = "instance-of",
    [49] = "integral-constant",
    [50] = "integral-constant-units",
    [52] = "limit-enable",
    [53] = "list-of-group-members",
    [54] = "list-of-object-property-references",
    [56] = "local-date",
    [57] = "local-time",
    [58] = "location",
    [59] = "low-limit",
    [60] = "manipulated-variable-reference",
    [61] = "maximum-output",
    [62] = "max-apdu-length-accepted",
    [63] = "max-info-frames",
    [64] = "max-master",
    [65] = "max-pres-value",
    [66] = "minimum-off-time",
    [67] = "minimum-on-time",
    [68] = "minimum-output",
    [69] = "min-pres-value",
    [70] = "model-name",
    [71] = "modification-date",
    [72] = "notify-type",
    [73] = "number-of-apdu-retries",
    [74] = "number-of-states",
    [75] = "object-identifier",
    [76] = "object-list",
    [77] = "object-name",
    [78] = "object-property-reference",
    [79] = "object-type",
    [80] = "optional",
    [81] = "out-of-service",
    [82] = "output-units",
    [83] = "event-parameters",
    [84] = "polarity",
    [85] = "present-value",
    [86] = "priority",
    [87] = "priority-array",
    [88] = "priority-for-writing",
    [89] = "process-identifier",
    [90] = "program-change",
    [91] = "program-location",
    [92] = "program-state",
    [93] = "proportional-constant",
    [94] = "proportional-constant-units",
    [96] = "protocol-object-types-supported",
    [97] = "protocol-services-supported",
    [98] = "protocol-version",
    [99] = "read-only",
    [100] = "reason-for-halt",
    [102] = "recipient-list",
    [103] = "reliability",
    [104] = "relinquish-default",
    [105] = "required",
    [106] = "resolution",
    [107] = "segmentation-supported",
    [108] = "setpoint",
    [109] = "setpoint-reference",
    [110] = "state-text",
    [111] = "status-flags",
    [112] = "system-status",
    [113] = "time-delay",
    [114] = "time-of-active-time-reset",
    [115] = "time-of-state-count-reset",
    [116] = "time-synchronization-recipients",
    [117] = "units",
    [118] = "update-interval",
    [119] = "utc-offset",
    [120] = "vendor-identifier",
    [121] = "vendor-name",
    [122] = "vt-classes-supported",
    [123] = "weekly-schedule",
    [124] = "attempted-samples",
    [125] = "average-value",
    [126] = "buffer-size",
    [127] = "client-cov-increment",
    [128] = "cov-resubscription-interval",
    [130] = "event-time-stamps",
    [131] = "log-buffer",
    [132] = "log-device-object-property",
    [133] = "enable",
    [134] = "log-interval",
    [135] = "maximum-value",
    [136] = "minimum-value",
    [137] = "notification-threshold",
    [139] = "protocol-revision",
    [140] = "records-since-notification",
    [141] = "record-count",
    [142] = "start-time",
    [143] = "stop-time",
    [144] = "stop-when-full",
    [145] = "total-record-count",
    [146] = "valid-samples",
    [147] = "window-interval",
    [148] = "window-samples",
    [149] = "maximum-value-timestamp",
    [150] = "minimum-value-timestamp",
    [151] = "variance-value",
    [152] = "active-cov-subscriptions",
    [153] = "backup-failure-timeout",
    [154] = "configuration-files",
    [155] = "database-revision",
    [156] = "direct-reading",
    [157] = "last-restore-time",
    [158] = "maintenance-required",
    [159] = "member-of",
    [160] = "mode",
    [161] = "operation-expected",
    [162] = "setting",
    [163] = "silenced",
    [164] = "tracking-value",
    [165] = "zone-members",
    [166] = "life-safety-alarm-values",
    [167] = "max-segments-accepted",
    [168] = "profile-name",
    [169] = "auto-slave-discovery",
    [170] = "manual-slave-address-binding",
    [171] = "slave-address-binding",
    [172] = "slave-proxy-enable",
    [173] = "last-notify-record",
    [174] = "schedule-default",
    [175] = "accepted-modes",
    [176] = "adjust-value",
    [177] = "count",
    [178] = "count-before-change",
    [179] = "count-change-time",
    [180] = "cov-period",
    [181] = "input-reference",
    [182] = "limit-monitoring-interval",
    [183] = "logging-object",
    [184] = "logging-record",
    [185] = "prescale",
    [186] = "pulse-rate",
    [187] = "scale",
    [188] = "scale-factor",
    [189] = "update-time",
    [190] = "value-before-change",
    [191] = "value-set",
    [192] = "value-change-time",
    [193] = "align-intervals",
    [195] = "interval-offset",
    [196] = "last-restart-reason",
    [197] = "logging-type",
    [202] = "restart-notification-recipients",
    [203] = "time-of-device-restart",
    [204] = "time-synchronization-interval",
    [205] = "trigger",
    [206] = "utc-time-synchronization-recipients",
    [207] = "node-subtype",
    [208] = "node-type",
    [209] = "structured-object-list",
    [210] = "subordinate-annotations",
    [211] = "subordinate-list",
    [212] = "actual-shed-level",
    [213] = "duty-window",
    [214] = "expected-shed-level",
    [215] = "full-duty-baseline",
    [218] = "requested-shed-level",
    [219] = "shed-duration",
    [220] = "shed-level-descriptions",
    [221] = "shed-levels",
    [222] = "state-description",
    [226] = "door-alarm-state",
    [227] = "door-extended-pulse-time",
    [228] = "door-members",
    [229] = "door-open-too-long-time",
    [230] = "door-pulse-time",
    [231] = "door-status",
    [232] = "door-unlock-delay-time",
    [233] = "lock-status",
    [234] = "masked-alarm-values",
    [235] = "secured-status",
    [244] = "absentee-limit",
    [245] = "access-alarm-events",
    [246] = "access-doors",
    [247] = "access-event",
    [248] = "access-event-authentication-factor",
    [249] = "access-event-credential",
    [250] = "access-event-time",
    [251] = "access-transaction-events",
    [252] = "accompaniment",
    [253] = "accompaniment-time",
    [254] = "activation-time",
    [255] = "active-authentication-policy",
    [256] = "assigned-access-rights",
    [257] = "authentication-factors",
    [258] = "authentication-policy-list",
    [259] = "authentication-policy-names",
    [260] = "authentication-status",
    [261] = "authorization-mode",
    [262] = "belongs-to",
    [263] = "credential-disable",
    [264] = "credential-status",
    [265] = "credentials",
    [266] = "credentials-in-zone",
    [267] = "days-remaining",
    [268] = "entry-points",
    [269] = "exit-points",
    [270] = "expiration-time",
    [271] = "extended-time-enable",
    [272] = "failed-attempt-events",
    [273] = "failed-attempts",
    [274] = "failed-attempts-time",
    [275] = "last-access-event",
    [276] = "last-access-point",
    [277] = "last-credential-added",
    [278] = "last-credential-added-time",
    [279] = "last-credential-removed",
    [280] = "last-credential-removed-time",
    [281] = "last-use-time",
    [282] = "lockout",
    [283] = "lockout-relinquish-time",
    [285] = "max-failed-attempts",
    [286] = "members",
    [287] = "muster-point",
    [288] = "negative-access-rules",
    [289] = "number-of-authentication-policies",
    [290] = "occupancy-count",
    [291] = "occupancy-count-adjust",
    [292] = "occupancy-count-enable",
    [294] = "occupancy-lower-limit",
    [295] = "occupancy-lower-limit-enforced",
    [296] = "occupancy-state",
    [297] = "occupancy-upper-limit",
    [298] = "occupancy-upper-limit-enforced",
    [300] = "passback-mode",
    [301] = "passback-timeout",
    [302] = "positive-access-rules",
    [303] = "reason-for-disable",
    [304] = "supported-formats",
    [305] = "supported-format-classes",
    [306] = "threat-authority",
    [307] = "threat-level",
    [308] = "trace-flag",
    [309] = "transaction-notification-class",
    [310] = "user-external-identifier",
    [311] = "user-information-reference",
    [317] = "user-name",
    [318] = "user-type",
    [319] = "uses-remaining",
    [320] = "zone-from",
    [321] = "zone-to",
    [322] = "access-event-tag",
    [323] = "global-identifier",
    [326] = "verification-time",
    [327] = "base-device-security-policy",
    [328] = "distribution-key-revision",
    [329] = "do-not-hide",
    [330] = "key-sets",
    [331] = "last-key-server",
    [332] = "network-access-security-policies",
    [333] = "packet-reorder-time",
    [334] = "security-pdu-timeout",
    [335] = "security-time-window",
    [336] = "supported-security-algorithms",
    [337] = "update-key-set-timeout",
    [338] = "backup-and-restore-state",
    [339] = "backup-preparation-time",
    [340] = "restore-completion-time",
    [341] = "restore-preparation-time",
    [342] = "bit-mask",
    [343] = "bit-text",
    [344] = "is-utc",
    [345] = "group-members",
    [346] = "group-member-names",
    [347] = "member-status-flags",
    [348] = "requested-update-interval",
    [349] = "covu-period",
    [350] = "covu-recipients",
    [351] = "event-message-texts",
    [352] = "event-message-texts-config",
    [353] = "event-detection-enable",
    [354] = "event-algorithm-inhibit",
    [355] = "event-algorithm-inhibit-ref",
    [356] = "time-delay-normal",
    [357] = "reliability-evaluation-inhibit",
    [358] = "fault-parameters",
    [359] = "fault-type",
    [360] = "local-forwarding-only",
    [361] = "process-identifier-filter",
    [362] = "subscribed-recipients",
    [363] = "port-filter",
    [364] = "authorization-exemptions",
    [365] = "allow-group-delay-inhibit",
    [366] = "channel-number",
    [367] = "control-groups",
    [368] = "execution-delay",
    [369] = "last-priority",
    [370] = "write-status",
    [371] = "property-list",
    [372] = "serial-number",
    [373] = "blink-warn-enable",
    [374] = "default-fade-time",
    [375] = "default-ramp-rate",
    [376] = "default-step-increment",
    [377] = "egress-time",
    [378] = "in-progress",
    [379] = "instantaneous-power",
    [380] = "lighting-command",
    [381] = "lighting-command-default-priority",
    [382] = "max-actual-value",
    [383] = "min-actual-value",
    [384] = "power",
    [385] = "transition",
    [386] = "egress-active",
    [387] = "interface-value",
    [388] = "fault-high-limit",
    [389] = "fault-low-limit",
    [390] = "low-diff-limit",
    [391] = "strike-count",
    [392] = "time-of-strike-count-reset",
    [393] = "default-timeout",
    [394] = "initial-timeout",
    [395] = "last-state-change",
    [396] = "state-change-values",
    [397] = "timer-running",
    [398] = "timer-state",
    [399] = "apdu-length",
    [400] = "ip-address",
    [401] = "ip-default-gateway",
    [402] = "ip-dhcp-enable",
    [403] = "ip-dhcp-lease-time",
    [404] = "ip-dhcp-lease-time-remaining",
    [405] = "ip-dhcp-server",
    [406] = "ip-dns-server",
    [407] = "bacnet-ip-global-address",
    [408] = "bacnet-ip-mode",
    [409] = "bacnet-ip-multicast-address",
    [410] = "bacnet-ip-nat-traversal",
    [411] = "ip-subnet-mask",
    [412] = "bacnet-ip-udp-port",
    [413] = "bbmd-accept-fd-registrations",
    [414] = "bbmd-broadcast-distribution-table",
    [415] = "bbmd-foreign-device-table",
    [416] = "changes-pending",
    [417] = "command",
    [418] = "fd-bbmd-address",
    [419] = "fd-subscription-lifetime",
    [420] = "link-speed",
    [421] = "link-speeds",
    [422] = "link-speed-autonegotiate",
    [423] = "mac-address",
    [424] = "network-interface-name",
    [425] = "network-number",
    [426] = "network-number-quality",
    [427] = "network-type",
    [428] = "routing-table",
    [429] = "virtual-mac-address-table",
    [430] = "command-time-array",
    [431] = "current-command-priority",
    [432] = "last-command-time",
    [433] = "value-source",
    [434] = "value-source-array",
    [435] = "bacnet-ipv6-mode",
    [436] = "ipv6-address",
    [437] = "ipv6-prefix-length",
    [438] = "bacnet-ipv6-udp-port",
    [439] = "ipv6-default-gateway",
    [440] = "bacnet-ipv6-multicast-address",
    [441] = "ipv6-dns-server",
    [442] = "ipv6-auto-addressing-enable",
    [443] = "ipv6-dhcp-lease-time",
    [444] = "ipv6-dhcp-lease-time-remaining",
    [445] = "ipv6-dhcp-server",
    [446] = "ipv6-zone-index",
    [481] = "active-cov-multiple-subscriptions",
    [482] = "protocol-level",
    [483] = "reference-port",
    [484] = "deployed-profile-location",
    [485] = "profile-location",
    [486] = "tags",
    [487] = "subordinate-node-types",
    [488] = "subordinate-tags",
    [489] = "subordinate-relationships",
    [490] = "default-subordinate-relationship",
    [491] = "represents",
    [492] = "default-present-value",
    [493] = "present-stage",
    [494] = "stages",
    [495] = "stage-names",
    [496] = "target-references",
    [497] = "audit-source-level",
    [498] = "audit-level",
    [499] = "audit-notification-recipient",
    [500] = "audit-priority-filter",
    [501] = "auditable-operations",
    [502] = "delete-on-forward",
    [503] = "maximum-send-delay",
    [504] = "monitored-objects",
    [505] = "send-now",
    [506] = "floor-number",
    [507] = "device-uuid",
    [508] = "additional-reference-ports",
    [509] = "certificate-signing-request-file",
    [510] = "command-validation-result",
    [511] = "issuer-certificate-files",
};

/* Annex AB (BACnet/SC) properties, 4194304.. */
#define SC_PROP_BASE 4194304u
static const char *const sc_property_names[] = {
    "max-bvlc-length-accepted", "max-npdu-length-accepted", "operational-certificate-file",
    "current-health", "sc-connect-wait-timeout", "sc-direct-connect-accept-enable",
    "sc-direct-connect-accept-uris", "sc-direct-connect-binding",
    "sc-direct-connect-connection-status", "sc-direct-connect-initiate-enable",
    "sc-disconnect-wait-timeout", "sc-failed-connection-requests",
    "sc-failover-hub-connection-status", "sc-failover-hub-uri", "sc-hub-connector-state",
    "sc-hub-function-accept-uris", "sc-hub-function-binding",
    "sc-hub-function-connection-status", "sc-hub-function-enable", "sc-heartbeat-timeout",
    "sc-primary-hub-connection-status", "sc-primary-hub-uri", "sc-maximum-reconnect-time",
    "sc-minimum-reconnect-time"};

static const char *const error_class_names[] = {
    "device", "object", "property", "resources", "security", "services", "vt", "communication"};

static const char *const error_code_names[BACSC_ERROR_CODE_LAST_KNOWN + 1] = {
    [0] = "other",
    [1] = "authentication-failed",
    [2] = "configuration-in-progress",
    [3] = "device-busy",
    [4] = "dynamic-creation-not-supported",
    [5] = "file-access-denied",
    [6] = "incompatible-security-levels",
    [7] = "inconsistent-parameters",
    [8] = "inconsistent-selection-criterion",
    [9] = "invalid-data-type",
    [10] = "invalid-file-access-method",
    [11] = "invalid-file-start-position",
    [12] = "invalid-operator-name",
    [13] = "invalid-parameter-data-type",
    [14] = "invalid-time-stamp",
    [15] = "key-generation-error",
    [16] = "missing-required-parameter",
    [17] = "no-objects-of-specified-type",
    [18] = "no-space-for-object",
    [19] = "no-space-to-add-list-element",
    [20] = "no-space-to-write-property",
    [21] = "no-vt-sessions-available",
    [22] = "property-is-not-a-list",
    [23] = "object-deletion-not-permitted",
    [24] = "object-identifier-already-exists",
    [25] = "operational-problem",
    [26] = "password-failure",
    [27] = "read-access-denied",
    [28] = "security-not-supported",
    [29] = "service-request-denied",
    [30] = "timeout",
    [31] = "unknown-object",
    [32] = "unknown-property",
    [34] = "unknown-vt-class",
    [35] = "unknown-vt-session",
    [36] = "unsupported-object-type",
    [37] = "value-out-of-range",
    [38] = "vt-session-already-closed",
    [39] = "vt-session-termination-failure",
    [40] = "write-access-denied",
    [41] = "character-set-not-supported",
    [42] = "invalid-array-index",
    [43] = "cov-subscription-failed",
    [44] = "not-cov-property",
    [45] = "optional-functionality-not-supported",
    [46] = "invalid-configuration-data",
    [47] = "datatype-not-supported",
    [48] = "duplicate-name",
    [49] = "duplicate-object-id",
    [50] = "property-is-not-an-array",
    [51] = "abort-buffer-overflow",
    [52] = "abort-invalid-apdu-in-this-state",
    [53] = "abort-preempted-by-higher-priority-task",
    [54] = "abort-segmentation-not-supported",
    [55] = "abort-proprietary",
    [56] = "abort-other",
    [57] = "invalid-tag",
    [58] = "network-down",
    [59] = "reject-buffer-overflow",
    [60] = "reject-inconsistent-parameters",
    [61] = "reject-invalid-parameter-data-type",
    [62] = "reject-invalid-tag",
    [63] = "reject-missing-required-parameter",
    [64] = "reject-parameter-out-of-range",
    [65] = "reject-too-many-arguments",
    [66] = "reject-undefined-enumeration",
    [67] = "reject-unrecognized-service",
    [68] = "reject-proprietary",
    [69] = "reject-other",
    [70] = "unknown-device",
    [71] = "unknown-route",
    [72] = "value-not-initialized",
    [73] = "invalid-event-state",
    [74] = "no-alarm-configured",
    [75] = "log-buffer-full",
    [76] = "logged-value-purged",
    [77] = "no-property-specified",
    [78] = "not-configured-for-triggered-logging",
    [79] = "unknown-subscription",
    [80] = "parameter-out-of-range",
    [81] = "list-element-not-found",
    [82] = "busy",
    [83] = "communication-disabled",
    [84] = "success",
    [85] = "access-denied",
    [86] = "bad-destination-address",
    [87] = "bad-destination-device-id",
    [88] = "bad-signature",
    [89] = "bad-source-address",
    [90] = "bad-timestamp",
    [91] = "cannot-use-key",
    [92] = "cannot-verify-message-id",
    [93] = "correct-key-revision",
    [94] = "destination-device-id-required",
    [95] = "duplicate-message",
    [96] = "encryption-not-configured",
    [97] = "encryption-required",
    [98] = "incorrect-key",
    [99] = "invalid-key-data",
    [100] = "key-update-in-progress",
    [101] = "malformed-message",
    [102] = "not-key-server",
    [103] = "security-not-configured",
    [104] = "source-security-required",
    [105] = "too-many-keys",
    [106] = "unknown-authentication-type",
    [107] = "unknown-key",
    [108] = "unknown-key-revision",
    [109] = "unknown-source-message",
    [110] = "not-router-to-dnet",
    [111] = "router-busy",
    [112] = "unknown-network-message",
    [113] = "message-too-long",
    [114] = "security-error",
    [115] = "addressing-error",
    [116] = "write-bdt-failed",
    [117] = "read-bdt-failed",
    [118] = "register-foreign-device-failed",
    [119] = "read-fdt-failed",
    [120] = "delete-fdt-entry-failed",
    [121] = "distribute-broadcast-failed",
    [122] = "unknown-file-size",
    [123] = "abort-apdu-too-long",
    [124] = "abort-application-exceeded-reply-time",
    [125] = "abort-out-of-resources",
    [126] = "abort-tsm-timeout",
    [127] = "abort-window-size-out-of-range",
    [128] = "file-full",
    [129] = "inconsistent-configuration",
    [130] = "inconsistent-object-type",
    [131] = "internal-error",
    [132] = "not-configured",
    [133] = "out-of-memory",
    [134] = "value-too-long",
    [135] = "abort-insufficient-security",
    [136] = "abort-security-error",
    [137] = "duplicate-entry",
    [138] = "invalid-value-in-this-state",
    [139] = "invalid-operation-in-this-state",
    [140] = "list-item-not-numbered",
    [141] = "list-item-not-timestamped",
    [142] = "invalid-data-encoding",
    [143] = "bvlc-function-unknown",
    [144] = "bvlc-proprietary-function-unknown",
    [145] = "header-encoding-error",
    [146] = "header-not-understood",
    [147] = "message-incomplete",
    [148] = "not-a-bacnet-sc-hub",
    [149] = "payload-expected",
    [150] = "unexpected-data",
    [151] = "node-duplicate-vmac",
    [152] = "http-unexpected-response-code",
    [153] = "http-no-upgrade",
    [154] = "http-resource-not-local",
    [155] = "http-proxy-authentication-failed",
    [156] = "http-response-timeout",
    [157] = "http-response-syntax-error",
    [158] = "http-response-value-error",
    [159] = "http-response-missing-header",
    [160] = "http-websocket-header-error",
    [161] = "http-upgrade-required",
    [162] = "http-upgrade-error",
    [163] = "http-temporary-unavailable",
    [164] = "http-not-a-server",
    [165] = "http-error",
    [166] = "websocket-scheme-not-supported",
    [167] = "websocket-unknown-control-message",
    [168] = "websocket-close-error",
    [169] = "websocket-closed-by-peer",
    [170] = "websocket-endpoint-leaves",
    [171] = "websocket-protocol-error",
    [172] = "websocket-data-not-accepted",
    [173] = "websocket-closed-abnormally",
    [174] = "websocket-data-inconsistent",
    [175] = "websocket-data-against-policy",
    [176] = "websocket-frame-too-long",
    [177] = "websocket-extension-missing",
    [178] = "websocket-request-unavailable",
    [179] = "websocket-error",
    [180] = "tls-client-certificate-error",
    [181] = "tls-server-certificate-error",
    [182] = "tls-client-authentication-failed",
    [183] = "tls-server-authentication-failed",
    [184] = "tls-client-certificate-expired",
    [185] = "tls-server-certificate-expired",
    [186] = "tls-client-certificate-revoked",
    [187] = "tls-server-certificate-revoked",
    [188] = "tls-error",
    [189] = "dns-unavailable",
    [190] = "dns-name-resolution-failed",
    [191] = "dns-resolver-failure",
    [192] = "dns-error",
    [193] = "tcp-connect-timeout",
    [194] = "tcp-connection-refused",
    [195] = "tcp-closed-by-local",
    [196] = "tcp-closed-other",
    [197] = "tcp-error",
    [198] = "ip-address-not-reachable",
    [199] = "ip-error",
    [200] = "certificate-expired",
    [201] = "certificate-invalid",
    [202] = "certificate-malformed",
    [203] = "certificate-revoked",
    [204] = "unknown-security-key",
    [205] = "referenced-port-in-error",
    [206] = "not-enabled",
    [207] = "adjust-scope-required",
    [208] = "auth-scope-required",
    [209] = "bind-scope-required",
    [210] = "config-scope-required",
    [211] = "control-scope-required",
    [212] = "extended-scope-required",
    [213] = "incorrect-client",
    [214] = "install-scope-required",
    [215] = "insufficient-scope",
    [216] = "no-default-scope",
    [217] = "no-policy",
    [218] = "revoked-token",
    [219] = "override-scope-required",
    [220] = "inactive-token",
    [221] = "unknown-audience",
    [222] = "unknown-client",
    [223] = "unknown-scope",
    [224] = "view-scope-required",
    [225] = "incorrect-audience",
    [226] = "incorrect-client-origin",
    [227] = "invalid-array-size",
    [228] = "incorrect-issuer",
    [229] = "invalid-token",
};

static const char *const reject_names[] = {
    "other", "buffer-overflow", "inconsistent-parameters", "invalid-parameter-data-type",
    "invalid-tag", "missing-required-parameter", "parameter-out-of-range",
    "too-many-arguments", "undefined-enumeration", "unrecognized-service",
    "invalid-data-encoding"};

static const char *const abort_names[] = {
    "other", "buffer-overflow", "invalid-apdu-in-this-state",
    "preempted-by-higher-priority-task", "segmentation-not-supported", "security-error",
    "insufficient-security", "window-size-out-of-range", "application-exceeded-reply-time",
    "out-of-resources", "tsm-timeout", "apdu-too-long"};

static const char *const segmentation_names[] = {
    "segmented-both", "segmented-transmit", "segmented-receive", "no-segmentation"};

static const char *lookup(const char *const *table, size_t n, uint32_t v)
{
    return v < n ? table[v] : NULL;
}

const char *bacsc_pdu_type_name(uint8_t type)
{
    return lookup(pdu_names, COUNT(pdu_names), type);
}

const char *bacsc_confirmed_service_name(uint8_t service)
{
    return lookup(confirmed_names, COUNT(confirmed_names), service);
}

const char *bacsc_unconfirmed_service_name(uint8_t service)
{
    return lookup(unconfirmed_names, COUNT(unconfirmed_names), service);
}

const char *bacsc_object_type_name(uint32_t type)
{
    return lookup(object_names, COUNT(object_names), type);
}

const char *bacsc_property_name(uint32_t property)
{
    if (property >= SC_PROP_BASE)
        return lookup(sc_property_names, COUNT(sc_property_names), property - SC_PROP_BASE);
    return lookup(property_names, COUNT(property_names), property);
}

const char *bacsc_error_class_name(uint32_t error_class)
{
    return lookup(error_class_names, COUNT(error_class_names), error_class);
}

const char *bacsc_error_code_name(uint32_t error_code)
{
    return lookup(error_code_names, COUNT(error_code_names), error_code);
}

const char *bacsc_reject_reason_name(uint8_t reason)
{
    return lookup(reject_names, COUNT(reject_names), reason);
}

const char *bacsc_abort_reason_name(uint8_t reason)
{
    return lookup(abort_names, COUNT(abort_names), reason);
}

const char *bacsc_segmentation_name(uint32_t segmentation)
{
    return lookup(segmentation_names, COUNT(segmentation_names), segmentation);
}

/* Case-insensitive compare treating '_' and ' ' as '-'. */
static bool name_equal(const char *name, const char *s)
{
    for (;; name++, s++) {
        int a = (unsigned char)*name, b = tolower((unsigned char)*s);
        if (b == '_' || b == ' ')
            b = '-';
        if (a != b)
            return false;
        if (a == 0)
            return true;
    }
}

/* Parse a decimal number (no sign, no spaces) no larger than max. */
static int parse_number(const char *s, uint32_t max, uint32_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return BACSC_ERR_NOT_FOUND;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return BACSC_ERR_NOT_FOUND;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return BACSC_ERR_NOT_FOUND;
    }
    *out = (uint32_t)v;
    return BACSC_OK;
}

static int parse_in(const char *const *table, size_t n, uint32_t base, const char *s,
                    uint32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i] && name_equal(table[i], s)) {
            *out = base + (uint32_t)i;
            return BACSC_OK;
        }
    }
    return BACSC_ERR_NOT_FOUND;
}

int bacsc_confirmed_service_parse(const char *s, uint8_t *service)
{
    uint32_t v;
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (parse_number(s, 255, &v) == BACSC_OK ||
        parse_in(confirmed_names, COUNT(confirmed_names), 0, s, &v) == BACSC_OK) {
        *service = (uint8_t)v;
        return BACSC_OK;
    }
    return BACSC_ERR_NOT_FOUND;
}

int bacsc_object_type_parse(const char *s, uint16_t *type)
{
    uint32_t v;
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (parse_number(s, 1023, &v) == BACSC_OK ||
        parse_in(object_names, COUNT(object_names), 0, s, &v) == BACSC_OK) {
        *type = (uint16_t)v;
        return BACSC_OK;
    }
    return BACSC_ERR_NOT_FOUND;
}

int bacsc_property_parse(const char *s, uint32_t *property)
{
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (parse_number(s, BACSC_PROPERTY_MAX, property) == BACSC_OK)
        return BACSC_OK;
    if (parse_in(property_names, COUNT(property_names), 0, s, property) == BACSC_OK)
        return BACSC_OK;
    return parse_in(sc_property_names, COUNT(sc_property_names), SC_PROP_BASE, s, property);
}

int bacsc_error_class_parse(const char *s, uint16_t *error_class)
{
    uint32_t v;
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (parse_number(s, 65535, &v) == BACSC_OK ||
        parse_in(error_class_names, COUNT(error_class_names), 0, s, &v) == BACSC_OK) {
        *error_class = (uint16_t)v;
        return BACSC_OK;
    }
    return BACSC_ERR_NOT_FOUND;
}

int bacsc_error_code_parse(const char *s, uint16_t *error_code)
{
    uint32_t v;
    if (s == NULL)
        return BACSC_ERR_NOT_FOUND;
    if (parse_number(s, 65535, &v) == BACSC_OK ||
        parse_in(error_code_names, COUNT(error_code_names), 0, s, &v) == BACSC_OK) {
        *error_code = (uint16_t)v;
        return BACSC_OK;
    }
    return BACSC_ERR_NOT_FOUND;
}
