/*
 * test_mqtt.c: src/mqtt.c's topic handling: a SensorThings topic to a request path and its
 * $select, the create topics, the subscribe lines of mosquitto's log, broker URLs. The broker
 * itself is tested end to end (tests/e2e/mqtt.sh) with a real mosquitto.
 */
#include <string.h>

#include "mqtt.h"
#include "tap.h"
#include "testutil.h"

static void test_topic_parse(void)
{
    char path[64], select[64];
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Things(1)/properties", path, sizeof path, select,
                                     sizeof select), 0);
    CU_ASSERT_STRING_EQUAL(path, "/v1.1/Things(1)/properties");
    CU_ASSERT_STRING_EQUAL(select, "");
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Observations?$select=result,phenomenonTime", path,
                                     sizeof path, select, sizeof select), 0);
    CU_ASSERT_STRING_EQUAL(path, "/v1.1/Observations");
    CU_ASSERT_STRING_EQUAL(select, "result,phenomenonTime");
    /* another version, wildcards, other options, an empty $select, too long */
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.0/Things", path, sizeof path, select, sizeof select),
                    -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/#", path, sizeof path, select, sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/+/Observations", path, sizeof path, select,
                                     sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Things?$filter=id eq 1", path, sizeof path, select,
                                     sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Things?$select=", path, sizeof path, select,
                                     sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Things?$select=id&$top=1", path, sizeof path, select,
                                     sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/", path, sizeof path, select, sizeof select), -1);
    CU_ASSERT_EQUAL(mqtt_topic_parse("v1.1/Datastreams(1)/Observations", path, 10, select,
                                     sizeof select), -1);
}

static void test_create_topics(void)
{
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Observations"), 1);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Datastreams(12)/Observations"), 1);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/MultiDatastreams(12)/Observations"), 1);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/MultiDatastreams(0)/Observations"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Datastreams(0)/Observations"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Datastreams()/Observations"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Datastreams(x)/Observations"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/FeaturesOfInterest(1)/Observations"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Datastreams(1)/Observations/x"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Observations(1)"), 0);
    CU_ASSERT_EQUAL(mqtt_is_create_topic("v1.1/Things"), 0);
}

static void expect_log(const char *line, const char *want)
{
    char topic[128];
    int rc = mqtt_select_from_log(line, strlen(line), topic, sizeof topic);
    if (!want) {
        CU_ASSERT_EQUAL(rc, -1);
        return;
    }
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0)
        CU_ASSERT_STRING_EQUAL(topic, want);
}

static void test_subscribe_log(void)
{
    /* as mosquitto 2.0 publishes them on $SYS/broker/log/M/subscribe */
    expect_log("1796663443: auto-A8C92C75 0 v1.1/Observations?$select=result,phenomenonTime",
               "v1.1/Observations?$select=result,phenomenonTime");
    expect_log("1796663443: my client 1 v1.1/Things(1)?$select=name",
               "v1.1/Things(1)?$select=name");
    /* no $select: nothing to learn; not SensorThings; not a subscribe line */
    expect_log("1796663444: c 0 v1.1/Things(1)/properties", NULL);
    expect_log("1796663444: c 0 $SYS/broker/log/#", NULL);
    expect_log("1796663444: c 0 v1.1/#?$select=id", NULL);
    expect_log("garbage", NULL);
    expect_log("", NULL);
}

static void test_url(void)
{
    char host[64];
    int port = 0;
    CU_ASSERT_EQUAL(mqtt_parse_url("mqtt://127.0.0.1:18830", host, sizeof host, &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "127.0.0.1");
    CU_ASSERT_EQUAL(port, 18830);
    CU_ASSERT_EQUAL(mqtt_parse_url("mqtt://broker.example", host, sizeof host, &port), 0);
    CU_ASSERT_STRING_EQUAL(host, "broker.example");
    CU_ASSERT_EQUAL(port, 1883);
    CU_ASSERT_EQUAL(mqtt_parse_url("mqtt://h:0", host, sizeof host, &port), -1);
    CU_ASSERT_EQUAL(mqtt_parse_url("mqtt://h:x", host, sizeof host, &port), -1);
    CU_ASSERT_EQUAL(mqtt_parse_url("http://h:1", host, sizeof host, &port), -1);
    CU_ASSERT_EQUAL(mqtt_parse_url("mqtt://h:1/path", host, sizeof host, &port), -1);
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("mqtt", NULL, NULL);
    CU_add_test(s, "topics to paths and $select", test_topic_parse);
    CU_add_test(s, "create topics", test_create_topics);
    CU_add_test(s, "mosquitto's subscribe log", test_subscribe_log);
    CU_add_test(s, "broker URLs", test_url);
    return tap_run();
}
