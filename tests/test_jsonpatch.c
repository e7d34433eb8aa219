/*
 * test_jsonpatch.c: src/jsonpatch.c: RFC 6902's operations and its appendix's cases, JSON
 * Pointer escapes (RFC 6901), and what a failing patch leaves: nothing changed, and a message
 * naming the operation.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonpatch.h"
#include "jsonutil.h"
#include "tap.h"
#include "testutil.h"

/* Applies patch (JSON text) to doc (JSON text); the result's canonical text, or NULL on
 * failure with the error in *err. */
static char *patched(const char *doc, const char *patch, insitu_error *err)
{
    json_t *d = json_loads(doc, 0, NULL), *p = json_loads(patch, 0, NULL), *out = NULL;
    char *before = json_text(d);
    char *text = NULL;
    if (json_patch_apply(d, p, &out, err) == 0)
        text = json_text(out);
    /* the document given is never changed */
    char *after = json_text(d);
    CU_ASSERT_STRING_EQUAL(before, after);
    free(before);
    free(after);
    json_decref(d);
    json_decref(p);
    json_decref(out);
    return text;
}

static void expect_doc(const char *doc, const char *patch, const char *want)
{
    insitu_error err = {0};
    char *got = patched(doc, patch, &err);
    json_t *w = json_loads(want, 0, NULL);
    char *canon = json_text(w);
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got)
        CU_ASSERT_STRING_EQUAL(got, canon);
    free(got);
    free(canon);
    json_decref(w);
}

static void expect_error(const char *doc, const char *patch, const char *message)
{
    insitu_error err = {0};
    char *got = patched(doc, patch, &err);
    CU_ASSERT_PTR_NULL(got);
    free(got);
    CU_ASSERT_EQUAL(err.code, INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, message));
}

/* RFC 6902, appendix A */
static void test_rfc_examples(void)
{
    expect_doc("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
               "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    expect_doc("{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
               "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    expect_doc("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
               "{\"foo\":\"bar\"}");
    expect_doc("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
               "{\"foo\":[\"bar\",\"baz\"]}");
    expect_doc("{\"baz\":\"qux\",\"foo\":\"bar\"}",
               "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
               "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    expect_doc("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
               "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
               "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
    expect_doc("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
               "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
               "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    expect_doc("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
               "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
               "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
               "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    expect_error("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                 "JSON Patch: [0] test /baz: the value differs");
    expect_doc("{\"foo\":\"bar\"}",
               "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
               "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* members it does not know are ignored */
    expect_doc("{\"foo\":\"bar\"}",
               "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
               "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    expect_error("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
                 "[0] add /baz/bat: no such location");
    /* ~01 is "~1", not "/": the escapes are undone in order */
    expect_doc("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
               "{\"/\":9,\"~1\":10}");
    expect_error("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
                 "the value differs");
    expect_doc("{\"foo\":[\"bar\"]}",
               "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
               "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
}

static void test_pointers_and_mistakes(void)
{
    /* "/" and "~" in member names */
    expect_doc("{\"a/b\":1,\"m~n\":2}",
               "[{\"op\":\"replace\",\"path\":\"/a~1b\",\"value\":3},"
               "{\"op\":\"remove\",\"path\":\"/m~0n\"}]",
               "{\"a/b\":3}");
    /* the whole document */
    expect_doc("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1,2]}]", "[1,2]");
    expect_error("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", "cannot be removed");
    /* numbers are equal by value */
    expect_doc("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0}]", "{\"a\":1}");
    /* indexes: no leading zero, not past the end; "-" only to add */
    expect_error("{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/01\"}]", "no such location");
    expect_error("{\"a\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/a/3\",\"value\":0}]",
                 "past the end");
    expect_error("{\"a\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]", "no such location");
    expect_error("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":0}]",
                 "[0] replace /b: no such location");
    expect_error("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
                 "cannot be moved into itself");
    expect_error("{\"a\":1}", "[{\"op\":\"copy\",\"path\":\"/b\"}]", "needs a \"from\"");
    expect_error("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", "needs a \"value\"");
    expect_error("{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", "unknown \"op\"");
    expect_error("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":0}]",
                 "starts with '/'");
    expect_error("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/~2\",\"value\":0}]", "'~'");
    expect_error("{\"a\":1}", "{\"op\":\"add\"}", "an array of operations");
    expect_error("{\"a\":1}", "[3]", "[0]: an operation is an object");
    /* a patch that fails half-way changes nothing: the first operation is undone too */
    expect_error("{\"a\":1}",
                 "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":2},"
                 "{\"op\":\"test\",\"path\":\"/a\",\"value\":3}]",
                 "[1] test /a");
    /* copy and move */
    expect_doc("{\"a\":{\"x\":[1]}}", "[{\"op\":\"copy\",\"from\":\"/a/x\",\"path\":\"/b\"}]",
               "{\"a\":{\"x\":[1]},\"b\":[1]}");
    expect_doc("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1}");
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("jsonpatch", NULL, NULL);
    CU_add_test(s, "RFC 6902's examples", test_rfc_examples);
    CU_add_test(s, "pointers, the whole document, and mistakes", test_pointers_and_mistakes);
    return tap_run();
}
