#include "parser/github/github_push_fields.h"

#include <boost/json/basic_parser_impl.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::parser {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// Where the parser is: the kind of each open object or array.
enum class Frame {
  root,        // the payload object
  repository,  // payload.repository
  commits,     // payload.commits
  commit,      // an element of payload.commits, or payload.head_commit
  author,      // <commit>.author
  files,       // <commit>.added, .modified or .removed
  other,       // anything not read
};

// What the next value is, from the key before it.
enum class Slot {
  none,
  ref,
  before,
  after,
  deleted,
  repository,
  commits,
  head_commit,
  full_name,
  pushed_at,
  commit_id,
  commit_timestamp,
  commit_message,
  commit_author,
  author_name,
  author_username,
  commit_added,
  commit_modified,
  commit_removed,
};

// basic_parser's handler. Never fails: every error comes from the parser
// itself, so the errors are those json::parse reports.
class PushHandler {
 public:
  // The limits of boost::json::parser, so the same texts fail.
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  PushFields fields;
  bool saw_non_finite = false;  // json::parse refuses these after parsing

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }

  bool on_object_begin(error_code&) {
    PushCommitFields* commit = open_.empty() ? nullptr : open_.back().commit;
    Frame frame = Frame::other;
    if (open_.empty()) {
      frame = Frame::root;
    } else if (open_.back().frame == Frame::commits) {
      frame = Frame::commit;
      commit = &fields.commits.emplace_back();
    } else {
      switch (take_slot()) {
        case Slot::repository: frame = Frame::repository; break;
        case Slot::head_commit:
          frame = Frame::commit;
          commit = &fields.head_commit.emplace();
          break;
        case Slot::commit_author: frame = Frame::author; break;
        default: break;
      }
    }
    open_.push_back({frame, commit});
    return true;
  }
  bool on_object_end(std::size_t, error_code&) { return close(); }

  bool on_array_begin(error_code&) {
    PushCommitFields* commit = open_.empty() ? nullptr : open_.back().commit;
    Frame frame = Frame::other;
    std::vector<std::string>* files = nullptr;
    switch (open_.empty() ? Slot::none : take_slot()) {
      case Slot::commits: frame = Frame::commits; break;
      case Slot::commit_added: frame = Frame::files; files = &commit->added; break;
      case Slot::commit_modified: frame = Frame::files; files = &commit->modified; break;
      case Slot::commit_removed: frame = Frame::files; files = &commit->removed; break;
      default: break;
    }
    open_.push_back({frame, frame == Frame::files ? commit : nullptr, files});
    return true;
  }
  bool on_array_end(std::size_t, error_code&) { return close(); }

  bool on_key_part(string_view part, std::size_t, error_code&) {
    key_.append(part.data(), part.size());
    return true;
  }
  bool on_key(string_view last, std::size_t, error_code&) {
    std::string_view key(last.data(), last.size());
    if (!key_.empty()) {
      key_.append(last.data(), last.size());
      key = key_;
    }
    slot_ = slot_for(key);
    key_.clear();
    return true;
  }

  bool on_string_part(string_view part, std::size_t, error_code&) {
    if (std::string* target = string_target()) target->append(part.data(), part.size());
    return true;
  }
  bool on_string(string_view last, std::size_t, error_code&) {
    if (!open_.empty() && open_.back().frame == Frame::files) {
      if (!file_open_) open_.back().files->emplace_back();
      open_.back().files->back().append(last.data(), last.size());
      file_open_ = false;
      return true;
    }
    if (std::string* target = string_target()) {
      target->append(last.data(), last.size());
      if (time_target_) *time_target_ = boost::json::string_view(*target);
    }
    slot_ = Slot::none;
    time_target_ = nullptr;
    return true;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) { return number(i); }
  bool on_uint64(std::uint64_t u, string_view, error_code&) { return number(u); }
  bool on_double(double d, string_view, error_code&) {
    if (!std::isfinite(d)) saw_non_finite = true;
    return number(d);
  }
  bool on_bool(bool b, error_code&) {
    if (take_slot() == Slot::deleted) fields.deleted = b;
    return true;
  }
  bool on_null(error_code&) {
    take_slot();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  struct Open {
    Frame frame;
    PushCommitFields* commit;  // the commit being read (Frame::commit and below)
    std::vector<std::string>* files = nullptr;  // Frame::files: the list being read
  };

  Slot take_slot() { return std::exchange(slot_, Slot::none); }

  bool close() {
    open_.pop_back();
    return true;
  }

  // The slot `key` names in the innermost open object. Clears what an
  // earlier value under the same key left: the last duplicate wins, even
  // when it is of another kind.
  Slot slot_for(std::string_view key) {
    if (open_.empty()) return Slot::none;
    PushCommitFields* commit = open_.back().commit;
    switch (open_.back().frame) {
      case Frame::root:
        if (key == "ref") {
          fields.ref.clear();
          return Slot::ref;
        }
        if (key == "before") {
          fields.before.clear();
          return Slot::before;
        }
        if (key == "after") {
          fields.after.clear();
          return Slot::after;
        }
        if (key == "deleted") {
          fields.deleted = false;
          return Slot::deleted;
        }
        if (key == "repository") {
          fields.repository_full_name.clear();
          fields.repository_pushed_at = nullptr;
          return Slot::repository;
        }
        if (key == "commits") {
          fields.commits.clear();
          return Slot::commits;
        }
        if (key == "head_commit") {
          fields.head_commit.reset();
          return Slot::head_commit;
        }
        return Slot::none;
      case Frame::repository:
        if (key == "full_name") {
          fields.repository_full_name.clear();
          return Slot::full_name;
        }
        if (key == "pushed_at") {
          fields.repository_pushed_at = nullptr;
          return Slot::pushed_at;
        }
        return Slot::none;
      case Frame::commit:
        if (key == "id") {
          commit->id.clear();
          return Slot::commit_id;
        }
        if (key == "timestamp") {
          commit->timestamp = nullptr;
          return Slot::commit_timestamp;
        }
        if (key == "message") {
          commit->message.clear();
          return Slot::commit_message;
        }
        if (key == "author") {
          commit->author_name.clear();
          commit->author_username.clear();
          return Slot::commit_author;
        }
        if (key == "added") {
          commit->added.clear();
          return Slot::commit_added;
        }
        if (key == "modified") {
          commit->modified.clear();
          return Slot::commit_modified;
        }
        if (key == "removed") {
          commit->removed.clear();
          return Slot::commit_removed;
        }
        return Slot::none;
      case Frame::author:
        if (key == "name") {
          commit->author_name.clear();
          return Slot::author_name;
        }
        if (key == "username") {
          commit->author_username.clear();
          return Slot::author_username;
        }
        return Slot::none;
      case Frame::commits:
      case Frame::files:
      case Frame::other: return Slot::none;
    }
    return Slot::none;
  }

  // Where the parts of the current string value go, or nullptr when it is
  // not read. A time is collected as text and stored on its last part.
  std::string* string_target() {
    if (!open_.empty() && open_.back().frame == Frame::files) {
      // A path in parts: the first part starts a new element.
      if (!file_open_) {
        open_.back().files->emplace_back();
        file_open_ = true;
      }
      return &open_.back().files->back();
    }
    PushCommitFields* commit = open_.empty() ? nullptr : open_.back().commit;
    switch (slot_) {
      case Slot::ref: return &fields.ref;
      case Slot::before: return &fields.before;
      case Slot::after: return &fields.after;
      case Slot::full_name: return &fields.repository_full_name;
      case Slot::commit_id: return &commit->id;
      case Slot::commit_message: return &commit->message;
      case Slot::author_name: return &commit->author_name;
      case Slot::author_username: return &commit->author_username;
      case Slot::pushed_at: return time_text(fields.repository_pushed_at);
      case Slot::commit_timestamp: return time_text(commit->timestamp);
      default: return nullptr;
    }
  }
  std::string* time_text(boost::json::value& target) {
    if (!time_target_) {
      time_text_.clear();
      time_target_ = &target;
    }
    return &time_text_;
  }

  template <typename Number>
  bool number(Number n) {
    PushCommitFields* commit = open_.empty() ? nullptr : open_.back().commit;
    switch (take_slot()) {
      case Slot::pushed_at: fields.repository_pushed_at = n; break;
      case Slot::commit_timestamp: commit->timestamp = n; break;
      default: break;
    }
    return true;
  }

  std::vector<Open> open_;
  Slot slot_ = Slot::none;
  bool file_open_ = false;                   // a path that arrives in parts
  std::string key_;                          // a key that arrives in parts
  std::string time_text_;                    // a time string that is being read
  boost::json::value* time_target_ = nullptr;  // where time_text_ goes
};

}  // namespace

std::optional<PushFields> read_push_fields(std::string_view json_text, json::ParseError& error) {
  boost::json::basic_parser<PushHandler> parser(json::parse_options(json::Nesting::body));
  error_code ec;
  const std::size_t consumed = parser.write_some(false, json_text.data(), json_text.size(), ec);
  if (!json::complete_value(json_text, consumed, ec, error)) return std::nullopt;
  if (parser.handler().saw_non_finite) {
    error = json::number_too_large();
    return std::nullopt;
  }
  return std::move(parser.handler().fields);
}

}  // namespace fourkeys::parser
