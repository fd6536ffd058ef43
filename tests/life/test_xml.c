/* xml/: libxml2 behind minivmm's tree. Hostile documents (entity bombs,
 * external entities and DTDs, huge or deep input, bad encodings) are refused
 * with the line at fault; the writer escapes and indents as libvirt. */
#include "vmm/log.h"
#include "xml/xml.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *x, struct xml_node **root)
{
	log_clear_last_error();
	return xml_parse(x, strlen(x), "h.xml", root);
}

static void refused(const char *x, const char *msg)
{
	struct xml_node *root = (struct xml_node *)1;
	int r = parse(x, &root);
	if (r != -EINVAL || !strstr(log_last_error(), msg) || root)
		ck_abort_msg("'%.60s': rc %d, error \"%s\", wanted \"%s\"", x, r, log_last_error(),
			     msg);
}

START_TEST(entity_bombs_and_external_entities)
{
	/* billion laughs, XXE (file and http), parameter entities, external DTD */
	refused("<?xml version='1.0'?>\n<!DOCTYPE lolz [\n<!ENTITY lol 'lol'>\n"
		"<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
		"<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n]>\n"
		"<lolz>&lol3;</lolz>",
		"h.xml:2: DOCTYPE");
	refused("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>", "DOCTYPE");
	refused("<!DOCTYPE d [<!ENTITY x SYSTEM 'http://127.0.0.1:1/x'>]><d>&x;</d>", "DOCTYPE");
	refused("<!DOCTYPE d [<!ENTITY % p SYSTEM 'file:///etc/passwd'> %p;]><d/>", "DOCTYPE");
	refused("<!DOCTYPE d SYSTEM 'http://127.0.0.1:1/d.dtd'><d/>", "DOCTYPE");
	refused("<!DOCTYPE d PUBLIC '-//x//y' 'file:///etc/passwd'><d/>", "DOCTYPE");
	/* an entity never declared is not looked up anywhere */
	refused("<d>&passwd;</d>", "unknown entity");
	refused("<d a='&x;'/>", "unknown entity");
	/* XInclude is not processed: the element stays an element */
	struct xml_node *root;
	ck_assert_int_eq(parse("<d xmlns:xi='http://www.w3.org/2001/XInclude'>"
			       "<xi:include href='/etc/passwd' parse='text'/></d>",
			       &root),
			 0);
	ck_assert_uint_eq(root->nkids, 1);
	ck_assert_str_eq(root->kids[0]->name, "xi:include");
	ck_assert_str_eq(root->text, "");
	ck_assert_str_eq(xml_attr(root, "xmlns:xi"), "http://www.w3.org/2001/XInclude");
	xml_free(root);
}
END_TEST

START_TEST(size_and_depth_bounded)
{
	size_t big = XML_MAX_SIZE + 1;
	char *buf = malloc(big);
	memset(buf, ' ', big);
	memcpy(buf, "<a>", 3);
	memcpy(buf + big - 4, "</a>", 4);
	struct xml_node *root;
	log_clear_last_error();
	ck_assert_int_eq(xml_parse(buf, big, "big.xml", &root), -EINVAL);
	ck_assert(strstr(log_last_error(), "big.xml: file too large") != NULL);
	/* exactly the limit is read */
	ck_assert_int_eq(xml_parse(buf + 1, big - 1, "big.xml", &root), -EINVAL); /* "a>..." */
	buf[1] = '<', buf[2] = 'a', buf[3] = '>';
	ck_assert_int_eq(xml_parse(buf + 1, big - 1, "big.xml", &root), 0);
	xml_free(root);
	free(buf);

	/* 100000 levels: refused at level 33, without recursion blowing the stack */
	size_t levels = 100000;
	buf = malloc(levels * 3 + 1);
	for (size_t i = 0; i < levels; i++)
		memcpy(buf + 3 * i, "<a>", 3);
	log_clear_last_error();
	ck_assert_int_eq(xml_parse(buf, levels * 3, "deep.xml", &root), -EINVAL);
	ck_assert_str_eq(log_last_error(), "deep.xml:1: elements nested too deeply");
	free(buf);
}
END_TEST

START_TEST(bytes_and_encodings)
{
	struct xml_node *root;
	refused("<a>\xff\xfe</a>", "must be UTF-8");
	refused("<a>\xc3(</a>", "must be UTF-8");
	refused("<a>\x01</a>", "h.xml:1:");
	static const char nul[] = "<a>x\0y</a>";
	log_clear_last_error();
	ck_assert_int_eq(xml_parse(nul, sizeof(nul) - 1, "nul.xml", &root), -EINVAL);
	ck_assert(strstr(log_last_error(), "nul.xml:1:") != NULL);
	/* the input is read as UTF-8 whatever it declares: no converter runs */
	ck_assert_int_eq(parse("<?xml version='1.0' encoding='EBCDIC-US'?><a>\xc3\xa4</a>", &root),
			 0);
	ck_assert_str_eq(root->text, "\xc3\xa4");
	xml_free(root);
	static const char utf16[] = "\xff\xfe<\0a\0/\0>\0";
	ck_assert_int_eq(xml_parse(utf16, sizeof(utf16) - 1, "u16.xml", &root), -EINVAL);
	/* a BOM and UTF-8 text are fine */
	ck_assert_int_eq(parse("\xef\xbb\xbf<a>\xe4\xb8\xad</a>", &root), 0);
	ck_assert_str_eq(root->text, "\xe4\xb8\xad");
	xml_free(root);
	ck_assert_int_eq(parse("<?xml version='1.0' encoding='UTF-8'?>\n<!-- c -->\n<?pi x?>"
			       "<a>1<?pi y?>2<!-- z -->3</a>",
			       &root),
			 0);
	ck_assert_str_eq(root->text, "123");
	xml_free(root);
}
END_TEST

START_TEST(errors_name_the_line)
{
	refused("<a>\n<b>\n</c>\n</a>", "h.xml:3: mismatched closing tag");
	refused("<a>\n\n<b x='1' x='2'/></a>", "h.xml:3: duplicate attribute");
	refused("<a>\n<!-- never closed\n\n", "unterminated comment");
	refused("<a><![CDATA[<x/>]]></a>", "h.xml:1: DOCTYPE and CDATA are not supported");
	refused("   \n  ", "no root element");
	refused("<a/>\n<b/>", "h.xml:2: content after the root element");
}
END_TEST

START_TEST(tree_lines_and_text)
{
	struct xml_node *root;
	ck_assert_int_eq(
	    parse("<a x='1&amp;2'>\n  <b>  hi &lt;there&gt; </b>\n\n  <c/>\n</a>", &root), 0);
	ck_assert_uint_eq(root->line, 1);
	ck_assert_uint_eq(root->kids[0]->line, 2);
	ck_assert_uint_eq(root->kids[1]->line, 4);
	ck_assert_str_eq(xml_attr(root, "x"), "1&2");
	char t[32];
	ck_assert_int_eq(xml_text_trim(root->kids[0], t, sizeof(t)), 0);
	ck_assert_str_eq(t, "hi <there>");
	ck_assert_int_eq(xml_text_trim(root->kids[0], t, 4), -ENAMETOOLONG);
	ck_assert_ptr_eq(xml_child(root, "c"), root->kids[1]);
	ck_assert_ptr_null(xml_child(root, "d"));
	xml_free(root);
}
END_TEST

START_TEST(edit_and_format)
{
	struct xml_node *root;
	char *out;
	ck_assert_int_eq(parse("<d t='k'><name>n</name><devices>\n<x/></devices></d>", &root), 0);
	struct xml_node *u = xml_new("uuid", "u<1>&'\"");
	ck_assert_int_eq(xml_insert(root, 1, u), 0);
	ck_assert_int_eq(xml_set_attr(root, "t", "a'b\"<&>"), 0);
	ck_assert_int_eq(xml_set_attr(root->kids[2]->kids[0], "k", "v"), 0);
	ck_assert_int_eq(xml_insert(root->kids[2], 99, xml_new("y", NULL)), 0);
	ck_assert_int_eq(xml_format(root, &out), 0);
	ck_assert_str_eq(out, "<d t='a&apos;b&quot;&lt;&amp;&gt;'>\n"
			      "  <name>n</name>\n"
			      "  <uuid>u&lt;1&gt;&amp;'\"</uuid>\n"
			      "  <devices>\n"
			      "    <x k='v'/>\n"
			      "    <y/>\n"
			      "  </devices>\n"
			      "</d>\n");
	/* what is written reads back the same */
	struct xml_node *again;
	ck_assert_int_eq(xml_parse(out, strlen(out), "out", &again), 0);
	ck_assert_str_eq(xml_attr(again, "t"), "a'b\"<&>");
	ck_assert_str_eq(again->kids[1]->text, "u<1>&'\"");
	xml_remove(again, 1);
	ck_assert_str_eq(again->kids[1]->name, "devices");
	xml_remove(again, 7); /* out of range: nothing */
	ck_assert_uint_eq(again->nkids, 2);
	xml_free(again);
	free(out);
	xml_free(root);
}
END_TEST

START_TEST(read_file_bounded)
{
	char path[] = "/tmp/minivmm-xmlXXXXXX";
	int fd = mkstemp(path);
	char *buf;
	size_t len;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "<a/>", 4), 4);
	ck_assert_int_eq(xml_read_file("t", path, &buf, &len), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(buf, "<a/>");
	free(buf);
	ck_assert_int_eq(ftruncate(fd, XML_MAX_SIZE + 1), 0);
	ck_assert_int_eq(xml_read_file("t", path, &buf, &len), -EFBIG);
	ck_assert(strstr(log_last_error(), "file too large") != NULL);
	close(fd);
	unlink(path);
	ck_assert_int_eq(xml_read_file("t", path, &buf, &len), -ENOENT);
	ck_assert(strstr(log_last_error(), path) != NULL);
}
END_TEST

/* LF, CR and tab in attribute values and CR in text survive a write and a
 * re-read (a parser turns raw ones into spaces / LF). */
START_TEST(format_keeps_control_characters)
{
	struct xml_node *root = xml_new("d", "line1\r\nline2\tend");
	char *out;
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(xml_set_attr(root, "a", "x\ny\tz\rw"), 0);
	ck_assert_int_eq(xml_format(root, &out), 0);
	ck_assert_str_eq(out, "<d a='x&#10;y&#9;z&#13;w'>line1&#13;\nline2\tend</d>\n");
	struct xml_node *again;
	ck_assert_int_eq(xml_parse(out, strlen(out), "out", &again), 0);
	ck_assert_str_eq(xml_attr(again, "a"), "x\ny\tz\rw");
	ck_assert_str_eq(again->text, "line1\r\nline2\tend");
	xml_free(again);
	free(out);
	xml_free(root);
}
END_TEST

START_TEST(read_file_directory)
{
	char *buf = NULL;
	size_t len;
	log_clear_last_error();
	ck_assert_int_eq(xml_read_file("t", "/tmp", &buf, &len), -EISDIR);
	ck_assert_str_eq(log_last_error(), "t: /tmp: is a directory");
	ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(random_garbage_never_crashes)
{
	static const char alphabet[] = "<>/='\"&;#! -?[]abxDOCTYPENTIY%\n\xc3\xa4";
	unsigned seed = 7;
	char buf[200];
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);
		for (size_t k = 0; k < len; k++)
			buf[k] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		char *heap = malloc(len ? len : 1);
		memcpy(heap, buf, len);
		struct xml_node *root;
		int r = xml_parse(heap, len, "g", &root);
		ck_assert(r == 0 || r == -EINVAL);
		if (!r) {
			char *out;
			ck_assert_int_eq(xml_format(root, &out), 0);
			free(out);
			xml_free(root);
		}
		free(heap);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("xml");
	log_set_quiet(true);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, entity_bombs_and_external_entities);
	tcase_add_test(tc, size_and_depth_bounded);
	tcase_add_test(tc, bytes_and_encodings);
	tcase_add_test(tc, errors_name_the_line);
	tcase_add_test(tc, tree_lines_and_text);
	tcase_add_test(tc, edit_and_format);
	tcase_add_test(tc, read_file_bounded);
	tcase_add_test(tc, format_keeps_control_characters);
	tcase_add_test(tc, read_file_directory);
	tcase_add_test(tc, random_garbage_never_crashes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
