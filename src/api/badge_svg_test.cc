#include "api/badge_svg.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace tally {
namespace {

// The integer value of attribute `name` on the first element that contains
// `marker` (e.g. "<svg", "fill=\"#555\"").
int Attribute(const std::string& svg, const std::string& marker, const std::string& name) {
  size_t at = svg.find(marker);
  if (at == std::string::npos) return -1;
  at = svg.rfind('<', at);
  size_t end = svg.find('>', at);
  std::string element = svg.substr(at, end - at);
  std::smatch m;
  if (!std::regex_search(element, m, std::regex(" " + name + "=\"([0-9]+)\""))) return -1;
  return std::stoi(m[1]);
}

TEST(BadgeColorTest, NamesAndHex) {
  EXPECT_EQ(*ParseBadgeColor("brightgreen"), "#4c1");
  EXPECT_EQ(*ParseBadgeColor("blue"), "#007ec6");
  EXPECT_EQ(*ParseBadgeColor("ABCDEF"), "#abcdef");
  EXPECT_EQ(*ParseBadgeColor("#0f0"), "#0f0");
  for (const char* bad : {"", "#", "12345", "ggg", "red;", "url(#x)", "#abcd", "blue\"/>"}) {
    EXPECT_FALSE(ParseBadgeColor(bad).ok()) << bad;
  }
}

TEST(BadgeStyleTest, OnlyTheTwoStyles) {
  EXPECT_EQ(*ParseBadgeStyle("flat"), BadgeStyle::kFlat);
  EXPECT_EQ(*ParseBadgeStyle("flat-square"), BadgeStyle::kFlatSquare);
  EXPECT_FALSE(ParseBadgeStyle("plastic").ok());
  EXPECT_FALSE(ParseBadgeStyle("").ok());
}

TEST(BadgeLabelTest, Validated) {
  EXPECT_TRUE(ValidateBadgeLabel("visits").ok());
  EXPECT_TRUE(ValidateBadgeLabel("Besuche \xc3\xbc").ok());
  EXPECT_FALSE(ValidateBadgeLabel("").ok());
  EXPECT_FALSE(ValidateBadgeLabel(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateBadgeLabel(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateBadgeLabel("a\nb").ok());
  EXPECT_FALSE(ValidateBadgeLabel("\xff").ok());
  EXPECT_FALSE(ValidateBadgeLabel("a\xc2\x85").ok());  // C1 control
}

TEST(BadgeTextWidthTest, MatchesVerdana) {
  // shields.io measures "visits" as 28.3px at 11px Verdana (rounded up).
  EXPECT_NEAR(BadgeTextWidth("visits"), 6.51 + 3.02 + 5.73 + 3.02 + 4.33 + 5.73, 0.01);
  EXPECT_NEAR(BadgeTextWidth("1,234"), 4 * 6.99 + 3.87, 0.01);
  EXPECT_GT(BadgeTextWidth("WWW"), BadgeTextWidth("iii") * 2);
  // Outside the table: one em per character, never narrower than Latin text.
  EXPECT_NEAR(BadgeTextWidth("\xe8\xa8\xaa\xe5\x95\x8f"), 22.0, 0.01);  // two CJK characters
  EXPECT_EQ(BadgeTextWidth(""), 0);
}

TEST(BadgeCountTest, GroupsThousands) {
  EXPECT_EQ(FormatBadgeCount(0), "0");
  EXPECT_EQ(FormatBadgeCount(999), "999");
  EXPECT_EQ(FormatBadgeCount(1000), "1,000");
  EXPECT_EQ(FormatBadgeCount(1234567), "1,234,567");
  EXPECT_EQ(FormatBadgeCount(9007199254740991), "9,007,199,254,740,991");
}

TEST(BadgeSvgTest, BoxesFitTheirText) {
  Badge badge{.label = "visits", .message = "1,234"};
  std::string svg = RenderBadgeSvg(badge);
  int label_box = Attribute(svg, "fill=\"#555\"", "width");
  int message_box = Attribute(svg, "fill=\"#007ec6\"", "width");
  int total = Attribute(svg, "<svg", "width");
  EXPECT_EQ(label_box, 29 + 10);    // ceil(28.34) + padding
  EXPECT_EQ(message_box, 32 + 10);  // ceil(31.83) + padding
  EXPECT_EQ(total, label_box + message_box);
  EXPECT_EQ(Attribute(svg, "<svg", "height"), 20);
  // Text is pinned to the measured length (10x scale), so it cannot overflow.
  EXPECT_NE(svg.find("textLength=\"290\">visits</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("textLength=\"320\">1,234</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("rx=\"3\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"#007ec6\""), std::string::npos);
  EXPECT_NE(svg.find("<title>visits: 1,234</title>"), std::string::npos);
}

TEST(BadgeSvgTest, LongTextWidensTheBadge) {
  std::string narrow = RenderBadgeSvg(Badge{.label = "v", .message = "1"});
  std::string wide =
      RenderBadgeSvg(Badge{.label = "page views of my very long label", .message = "1,000,000"});
  EXPECT_GT(Attribute(wide, "<svg", "width"), Attribute(narrow, "<svg", "width") + 150);
}

TEST(BadgeSvgTest, FlatSquareHasNoRoundingOrGradient) {
  std::string svg =
      RenderBadgeSvg(Badge{.label = "a", .message = "1", .style = BadgeStyle::kFlatSquare});
  EXPECT_EQ(svg.find("rx="), std::string::npos);
  EXPECT_EQ(svg.find("linearGradient"), std::string::npos);
  EXPECT_NE(svg.find("crispEdges"), std::string::npos);
  EXPECT_EQ(svg.find("fill-opacity"), std::string::npos);  // no text shadow
}

TEST(BadgeSvgTest, TextIsEscaped) {
  std::string svg = RenderBadgeSvg(Badge{.label = "<script>&\"'", .message = "1"});
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;&amp;&quot;&apos;</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find("aria-label=\"&lt;script&gt;&amp;&quot;&apos;: 1\""), std::string::npos);
}

}  // namespace
}  // namespace tally
